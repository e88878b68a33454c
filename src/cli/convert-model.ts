/**
 * `cli convert`: an fp32 model folder in the optimum layout to an fp16 one, with the same
 * converter the app runs while downloading (src/pipeline/onnx/fp16-convert.ts). Text encoders
 * and UNet become fp16; the VAEs stay fp32 (SDXL's stock VAE overflows in fp16); every other
 * file is copied. External data is streamed through the converter in 4 MiB reads, so memory
 * stays bounded whatever the size of the file (only a graph file is read whole: at most 2 GB,
 * protobuf's own limit).
 *
 *   cli convert --model DIR --out DIR [--io fp32]
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { convertModelToFloat16, type Float16Report } from '../pipeline/onnx/fp16-convert.ts';
import {
  ExternalDataConverter,
  type ExternalFileLayout,
} from '../pipeline/onnx/fp16-external-data.ts';

/** The graphs stored as fp16; the VAE decoder and encoder are copied as they are. */
export const FLOAT16_GRAPHS = ['text_encoder', 'text_encoder_2', 'unet'] as const;
const GRAPH_FILE = 'model.onnx';
const READ_BYTES = 4 * 1024 * 1024;

export interface ConvertOptions {
  keepFloat32Io?: boolean;
  /** Progress lines for a person (stderr in the CLI). */
  log?: (line: string) => void;
}

export interface GraphConversionSummary {
  graph: string;
  report: Float16Report;
  /** Values clamped to ±65504 in external data. */
  externalClamped: number;
  sourceBytes: number;
  outputBytes: number;
}

/** Converts `sourceDir` into `outDir` (created); returns one summary per converted graph. */
export async function convertModelDirectory(
  sourceDir: string,
  outDir: string,
  options: ConvertOptions = {},
): Promise<GraphConversionSummary[]> {
  const summaries: GraphConversionSummary[] = [];
  const converted = new Set<string>(); // files (relative) written by the converter
  for (const graph of FLOAT16_GRAPHS) {
    const graphFile = path.join(sourceDir, graph, GRAPH_FILE);
    if (!(await exists(graphFile))) continue;
    const summary = await convertGraph(sourceDir, outDir, graph, options);
    summaries.push(summary.summary);
    for (const file of summary.files) converted.add(file);
  }
  for (const file of await listFiles(sourceDir)) {
    if (converted.has(file)) continue;
    const target = path.join(outDir, file);
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(path.join(sourceDir, file), target);
  }
  return summaries;
}

async function convertGraph(
  sourceDir: string,
  outDir: string,
  graph: string,
  options: ConvertOptions,
): Promise<{ summary: GraphConversionSummary; files: string[] }> {
  const log = options.log ?? (() => {});
  const graphBytes = new Uint8Array(await readFile(path.join(sourceDir, graph, GRAPH_FILE)));
  const conversion = convertModelToFloat16(graphBytes, { keepFloat32Io: options.keepFloat32Io });
  await mkdir(path.join(outDir, graph), { recursive: true });
  await writeFile(path.join(outDir, graph, GRAPH_FILE), conversion.model);
  let externalClamped = 0;
  let sourceBytes = graphBytes.byteLength;
  let outputBytes = conversion.model.byteLength;
  for (const layout of conversion.externalFiles) {
    const from = path.join(sourceDir, graph, layout.location);
    const to = path.join(outDir, graph, layout.location);
    log(`${graph}/${layout.location}: ${mb(layout.sourceBytes)} -> ${mb(layout.outputBytes)}`);
    externalClamped += await convertExternalFile(from, to, layout);
    sourceBytes += (await stat(from)).size;
    outputBytes += layout.outputBytes;
  }
  const { report } = conversion;
  log(
    `${graph}: ${report.float16Tensors} tensors to fp16, ${report.float32Tensors.length} kept fp32, ` +
      `${report.float32Nodes.length} nodes fp32, ${report.castNodes} casts, ` +
      `${report.clampedValues + externalClamped} values clamped`,
  );
  return {
    summary: { graph, report, externalClamped, sourceBytes, outputBytes },
    files: [
      `${graph}/${GRAPH_FILE}`,
      ...conversion.externalFiles.map((layout) => `${graph}/${layout.location}`),
    ],
  };
}

/** Streams one external data file through the converter; returns the clamp count. */
export async function convertExternalFile(
  from: string,
  to: string,
  layout: ExternalFileLayout,
): Promise<number> {
  const converter = new ExternalDataConverter(layout);
  const output = createWriteStream(to);
  const input = createReadStream(from, {
    start: 0,
    end: Math.max(0, layout.sourceBytes - 1),
    highWaterMark: READ_BYTES,
  });
  try {
    if (layout.sourceBytes > 0) {
      for await (const chunk of input as AsyncIterable<Buffer>) {
        const bytes = converter.push(
          new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
        );
        if (bytes.byteLength && !output.write(bytes)) await once(output, 'drain');
      }
    } else {
      const bytes = converter.push(new Uint8Array(0));
      if (bytes.byteLength) output.write(bytes);
    }
  } finally {
    input.destroy();
    output.end();
    await once(output, 'close');
  }
  if (!converter.done) {
    throw new Error(
      `${from} ended after ${converter.nextSourceOffset} bytes; the graph needs ${layout.sourceBytes}`,
    );
  }
  return converter.clamped;
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const files: string[] = [];
  const entries = await readdir(path.join(dir, prefix), { withFileTypes: true });
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await listFiles(dir, relative)));
    else if (entry.isFile()) files.push(relative);
  }
  return files;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export const CONVERT_USAGE = 'cli convert --model DIR --out DIR [--io fp32]';

/** The `convert` command line. */
export async function convertCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { model: { type: 'string' }, out: { type: 'string' }, io: { type: 'string' } },
  });
  if (!values.model || !values.out)
    throw new Error(`--model and --out are required: ${CONVERT_USAGE}`);
  if (values.io !== undefined && values.io !== 'fp32' && values.io !== 'fp16') {
    throw new Error(`--io must be fp32 or fp16, not ${values.io}`);
  }
  if (path.resolve(values.model) === path.resolve(values.out)) {
    throw new Error('--out must be another folder than --model');
  }
  const started = performance.now();
  const summaries = await convertModelDirectory(values.model, values.out, {
    keepFloat32Io: values.io === 'fp32',
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(
    `${JSON.stringify({
      out: values.out,
      io: values.io ?? 'fp16',
      seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      graphs: summaries.map((s) => ({
        graph: s.graph,
        sourceBytes: s.sourceBytes,
        outputBytes: s.outputBytes,
        float16Tensors: s.report.float16Tensors,
        float32Tensors: s.report.float32Tensors.length,
        float32Nodes: s.report.float32Nodes.length,
        castNodes: s.report.castNodes,
        clamped: s.report.clampedValues + s.externalClamped,
      })),
    })}\n`,
  );
}
