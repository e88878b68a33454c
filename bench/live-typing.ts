/**
 * Benchmark of live mode's pacing (issue 4): a scripted typing run against the worker's engine
 * (its own thread, as in the browser) with the tiny fp32 model on onnxruntime-web's wasm
 * backend in Node. Keystroke intervals are set as fractions of one generation's time measured
 * in the same run, so the result describes the scheduling, not this machine's speed. Reports
 * generations started per keystroke and the time from the last keystroke to the final frame as
 * a ratio of one generation's time.
 */
import { Worker } from 'node:worker_threads';
import type { WorkerEvent } from '../src/protocol/messages.ts';
import { ensureTinyTestModel } from './test-model.ts';

export interface LiveTypingResult {
  intervalInGenerations: number;
  keystrokeIntervalMs: number;
  keystrokes: number;
  generationsStarted: number;
  framesPainted: number;
  startedPerKeystroke: number;
  oneGenerationMs: number;
  lastKeystrokeToFinalFrameMs: number;
  latencyInGenerations: number;
}

const TEXT = 'a photo of a cat sitting on a red sofa';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const wallNow = () => performance.timeOrigin + performance.now();

type Stamped = { at: number; event: WorkerEvent };

function startEngine(modelDir: string) {
  // A worker thread does not inherit tsx's loader: register it there, then load the engine.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./live-typing-engine.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  const worker = new Worker(boot, { eval: true, workerData: { modelDir } });
  const events: Stamped[] = [];
  let onIdle: (() => void) | null = null;
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('error', reject);
    worker.on('message', (message: 'ready' | 'idle' | Stamped) => {
      if (message === 'ready') resolve();
      else if (message === 'idle') onIdle?.();
      else events.push(message);
    });
  });
  return {
    ready,
    events,
    send: (request: unknown) => worker.postMessage(request),
    idle: () =>
      new Promise<void>((resolve) => {
        onIdle = resolve;
        worker.postMessage('idle?');
      }),
    stop: () => worker.terminate(),
  };
}

export async function benchLiveTyping(
  modelDir: string,
  intervalsInGenerations: number[] = [0.25, 0.5, 1],
): Promise<LiveTypingResult[]> {
  const engine = startEngine(modelDir);
  await engine.ready;
  let id = 0;
  const params = (prompt: string) => ({ prompt, seed: 7, steps: 1, width: 512, height: 512 });
  engine.send({ type: 'load-model', id: ++id, baseUrl: modelDir, backend: 'wasm' });
  await engine.idle();

  // One generation, as the engine times it (frame timings.total): new prompts each time, so
  // the text encoders run as they do while typing; the first is a warm-up.
  engine.events.length = 0;
  for (const prompt of ['warm up', 'a lighthouse at dusk', 'a bowl of ramen', 'a snowy forest']) {
    engine.send({ type: 'generate', id: ++id, params: params(prompt), live: false });
    await engine.idle();
  }
  const totals = engine.events
    .flatMap((e) => (e.event.type === 'frame' ? [e.event.timings.total] : []))
    .slice(1)
    .sort((a, b) => a - b);
  const oneGenerationMs = totals[Math.floor(totals.length / 2)] as number;

  const results: LiveTypingResult[] = [];
  for (const fraction of intervalsInGenerations) {
    const interval = fraction * oneGenerationMs;
    engine.events.length = 0;
    let lastKeystroke = 0;
    let lastId = 0;
    for (let i = 1; i <= TEXT.length; i++) {
      lastId = ++id;
      // A per-run suffix keeps the prompt cache from answering from an earlier run.
      const prompt = `${TEXT.slice(0, i)} (${fraction})`;
      engine.send({ type: 'generate', id: lastId, params: params(prompt), live: true });
      lastKeystroke = wallNow();
      await sleep(interval);
    }
    await engine.idle();
    const events = engine.events;
    const finalFrame = events.find((e) => e.event.type === 'frame' && e.event.id === lastId);
    if (!finalFrame) throw new Error('the last keystroke produced no frame');
    const started = events.filter((e) => e.event.type === 'generation-started').length;
    const latency = finalFrame.at - lastKeystroke;
    results.push({
      intervalInGenerations: fraction,
      keystrokeIntervalMs: interval,
      keystrokes: TEXT.length,
      generationsStarted: started,
      framesPainted: events.filter((e) => e.event.type === 'frame').length,
      startedPerKeystroke: started / TEXT.length,
      oneGenerationMs,
      lastKeystrokeToFinalFrameMs: latency,
      latencyInGenerations: latency / oneGenerationMs,
    });
  }
  await engine.stop();
  return results;
}

export function printLiveTyping(results: LiveTypingResult[]): void {
  console.log(
    '\nLive typing: tiny fp32 model, 512x512, 1 step, wasm in Node, engine in a worker thread',
  );
  console.log('key interval        keys  started  started/key  frames  last key -> final frame');
  for (const r of results) {
    const interval = `${r.intervalInGenerations} gen (${r.keystrokeIntervalMs.toFixed(0)} ms)`;
    console.log(
      [
        interval.padEnd(18),
        String(r.keystrokes).padStart(5),
        String(r.generationsStarted).padStart(8),
        r.startedPerKeystroke.toFixed(2).padStart(12),
        String(r.framesPainted).padStart(7),
        `${r.latencyInGenerations.toFixed(2)} gen (${r.lastKeystrokeToFinalFrameMs.toFixed(0)} ms)`.padStart(
          24,
        ),
      ].join(' '),
    );
  }
  console.log(
    `one generation: ${results[0]?.oneGenerationMs.toFixed(0)} ms (engine-timed median of 3, same run)`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? ensureTinyTestModel();
  printLiveTyping(await benchLiveTyping(dir));
}
