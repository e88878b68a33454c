/** Bundles a benchmark page script (and what it imports) into one ES module for the browser. */
import { build } from 'esbuild';

export async function bundlePage(entryPoint: string): Promise<string> {
  const result = await build({
    entryPoints: [entryPoint],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'warning',
  });
  return result.outputFiles[0]!.text;
}
