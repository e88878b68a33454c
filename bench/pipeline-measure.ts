/**
 * The pipeline benchmark's measurement sequence and its table, shared by the browser benchmark
 * (bench/pipeline.ts, which drives bench/pipeline-page.ts in Chromium) and the real-GPU kit
 * (bench/gpu-kit/run.ts, which calls the same page functions in Node on Dawn's bindings).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BareResult, ImageRequest, ImageResult, LoadResult } from './pipeline-page.ts';
import type { StageTimings } from '../src/pipeline/text-to-image.ts';

export type Mode = 'host' | 'gpu';

/** The page's functions, wherever they run (a browser page or this process). */
export interface BenchCalls {
  load(gpuResident: boolean): Promise<LoadResult>;
  image(request: ImageRequest): Promise<ImageResult>;
  bare(): Promise<BareResult>;
  userAgent(): Promise<string>;
}

/** What the table's heading names. */
export interface RunSettings {
  modelDir: string;
  images: number;
  steps: number;
  size: number;
  decoder: 'vae' | 'taesd';
}

const MODEL_GRAPHS = new Set(['textEncoder', 'textEncoder2', 'unet', 'vaeDecoder']);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function measureMode(mode: Mode, bench: BenchCalls, opts: RunSettings) {
  {
    const userAgent = await bench.userAgent();
    const loaded = await bench.load(mode === 'gpu');
    const image = (
      prompt: string,
      seed: number,
      extra: { syncStages?: boolean; record?: boolean } = {},
    ) =>
      bench.image({
        prompt,
        seed,
        steps: opts.steps,
        width: opts.size,
        height: opts.size,
        decoder: opts.decoder,
        ...extra,
      });
    const first = await image('a photo of a cat, first image', 1);
    const staged = await image('a photo of a cat, synced stages', 7, { syncStages: true });
    await image('a photo of a cat, reference', 42, { record: true });
    // Pipeline images and bare replays alternate, so that a change in machine load (this
    // machine's WebGPU runs on shared CPU cores) hits both sides of each ratio alike.
    const steady: ImageResult[] = [];
    const bareRuns: Array<{ calls: Array<{ graph: string; ms: number }>; readBytes: number }> = [];
    const pairRatios: number[] = [];
    const modelSum = (run: { calls: Array<{ graph: string; ms: number }> }) =>
      run.calls.filter((c) => MODEL_GRAPHS.has(c.graph)).reduce((s, c) => s + c.ms, 0);
    for (let i = 0; i < opts.images; i++) {
      const img = await image(`a photo of a cat number ${i}`, 100 + i);
      const bare = await bench.bare();
      steady.push(img);
      bareRuns.push(bare);
      pairRatios.push(img.ms / modelSum(bare));
    }
    const bareModel = median(bareRuns.map(modelSum));
    const bareAll = median(bareRuns.map((run) => run.calls.reduce((s, c) => s + c.ms, 0)));
    const bareByGraph: Record<string, number> = {};
    for (const run of bareRuns) {
      for (const c of run.calls)
        bareByGraph[c.graph] = (bareByGraph[c.graph] ?? 0) + c.ms / bareRuns.length;
    }
    const steadyMs = median(steady.map((s) => s.ms));
    const meanMs = steady.reduce((s, x) => s + x.ms, 0) / steady.length;
    return {
      mode,
      userAgent,
      ...loaded,
      firstImageMs: first.ms,
      steadyImageMs: steadyMs,
      steadyImagesPerSecond: 1000 / meanMs,
      steadyImageMsAll: steady.map((s) => s.ms),
      readBytesPerImage: median(steady.map((s) => s.readBytes)),
      writeBytesPerImage: median(steady.map((s) => s.writeBytes)),
      bareModelGraphsMs: bareModel,
      bareAllGraphsMs: bareAll,
      bareByGraphMs: bareByGraph,
      bareCalls: bareRuns[0]!.calls.map((c) => c.graph),
      ratioToBare: median(pairRatios),
      pairRatios,
      ratioToBareAllGraphs: steadyMs / bareAll,
      stagesSynced: staged.timings,
      stagesUnsynced: steady[steady.length - 1]!.timings,
    };
  }
}

export type ModeResult = Awaited<ReturnType<typeof measureMode>>;

function stageRows(t: StageTimings): Array<[string, number]> {
  return [
    ['tokenize', t.tokenize],
    ['text encoders', t.textEncoders],
    ...t.unetSteps.map((ms, i): [string, number] => [`unet step ${i + 1}`, ms]),
    ['vae decode', t.vaeDecode],
    ...(t.readback !== undefined ? [['readback', t.readback] as [string, number]] : []),
    ['to pixels', t.toPixels],
    ['total', t.total],
  ];
}

export function printResults(results: ModeResult[], opts: RunSettings): void {
  const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  console.log(
    `model ${opts.modelDir} (${results[0]?.dtype}), ${opts.size}x${opts.size}, ${opts.steps} step(s), ${opts.images} steady images; adapter: ${results[0]?.adapter}`,
  );
  const row = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(26) : c.padStart(14))).join('');
  console.log(row(['', ...results.map((r) => r.mode)]));
  const line = (name: string, f: (r: ModeResult) => string) =>
    console.log(row([name, ...results.map(f)]));
  line('load (ms)', (r) => r.loadMs.toFixed(0));
  line('first image (ms)', (r) => r.firstImageMs.toFixed(0));
  line('steady image (ms, median)', (r) => r.steadyImageMs.toFixed(1));
  line('images per second', (r) => r.steadyImagesPerSecond.toFixed(2));
  line('bare session.run sum (ms)', (r) => r.bareModelGraphsMs.toFixed(1));
  line('  + helper graphs (ms)', (r) => r.bareAllGraphsMs.toFixed(1));
  line('pipeline / bare (median)', (r) => r.ratioToBare.toFixed(3));
  line('read back per image', (r) => kib(r.readBytesPerImage));
  line('uploaded per image', (r) => kib(r.writeBytesPerImage));
  console.log('ms per stage (GPU synced after each stage):');
  const stageNames = stageRows(results[0]!.stagesSynced).map(([n]) => n);
  const names = new Set([
    ...stageNames,
    ...results.flatMap((r) => stageRows(r.stagesSynced).map(([n]) => n)),
  ]);
  for (const name of names) {
    line(`  ${name}`, (r) => {
      const v = stageRows(r.stagesSynced).find(([n]) => n === name)?.[1];
      return v === undefined ? '-' : v.toFixed(1);
    });
  }
  console.log('bare session.run by graph (ms):');
  const graphs = new Set(results.flatMap((r) => Object.keys(r.bareByGraphMs)));
  for (const g of graphs) line(`  ${g}`, (r) => r.bareByGraphMs[g]?.toFixed(1) ?? '-');
}

/**
 * Writes a run's results as JSON (bench/results/…): the settings, the machine (plus what the
 * caller adds, e.g. the Node version), what the numbers mean, and the results.
 */
export function writeResults(
  out: string,
  opts: RunSettings,
  machine: Record<string, unknown>,
  note: string,
  results: ModeResult[],
): void {
  mkdirSync(path.dirname(out), { recursive: true });
  const { modelDir, size, steps, images } = opts;
  const report = {
    date: new Date().toISOString(),
    modelDir,
    size,
    steps,
    images,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGB: os.totalmem() / 1e9,
      ...machine,
    },
    note,
    results,
  };
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
}
