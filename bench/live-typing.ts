/**
 * Benchmark of live mode's pacing (issue 4): a scripted typing run against the worker's engine
 * (its own thread, as in the browser) with the tiny fp32 model on onnxruntime-web's wasm
 * backend in Node. Keystroke intervals are set as fractions of one generation's time measured
 * in the same run, so the result describes the scheduling, not this machine's speed. Reports
 * generations started per keystroke and the time from the last keystroke to the final frame as
 * a ratio of one generation's time.
 *
 * Each typing run is done twice on the same model in the same run (issue 16): frames decoded
 * with the full VAE, and with TAESDXL previews (then also the full-VAE decode of the last
 * frame's latents that follows the pause). Frames per second = frames painted over the time
 * from the first keystroke to the final frame.
 */
import { Worker } from 'node:worker_threads';
import type { LatentDecoder, WorkerEvent } from '../src/protocol/messages.ts';
import { decoderFlopRatio } from './decoder-flops.ts';
import { ensureTinyTestModel } from './test-model.ts';

export interface LiveTypingResult {
  decoder: LatentDecoder;
  intervalInGenerations: number;
  keystrokeIntervalMs: number;
  keystrokes: number;
  generationsStarted: number;
  framesPainted: number;
  startedPerKeystroke: number;
  oneGenerationMs: number;
  lastKeystrokeToFinalFrameMs: number;
  latencyInGenerations: number;
  framesPerSecond: number;
  /** TAESDXL runs: the full-VAE decode of the last frame's latents (after the pause), in ms. */
  fullDecodeMs: number | null;
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
  decoders: LatentDecoder[] = ['vae', 'taesd'],
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
  for (const decoder of decoders)
    for (const fraction of intervalsInGenerations) {
      const interval = fraction * oneGenerationMs;
      engine.events.length = 0;
      let lastKeystroke = 0;
      let firstKeystroke = 0;
      let lastId = 0;
      let lastPrompt = '';
      for (let i = 1; i <= TEXT.length; i++) {
        lastId = ++id;
        // A per-run suffix keeps the prompt cache from answering from an earlier run.
        lastPrompt = `${TEXT.slice(0, i)} (${fraction}, ${decoder})`;
        const request = { type: 'generate', id: lastId, params: params(lastPrompt), live: true };
        engine.send(decoder === 'taesd' ? { ...request, decoder } : request);
        lastKeystroke = wallNow();
        if (i === 1) firstKeystroke = lastKeystroke;
        await sleep(interval);
      }
      await engine.idle();
      const events = engine.events;
      const finalFrame = events.find((e) => e.event.type === 'frame' && e.event.id === lastId);
      if (!finalFrame) throw new Error('the last keystroke produced no frame');
      const started = events.filter((e) => e.event.type === 'generation-started').length;
      const latency = finalFrame.at - lastKeystroke;
      const frames = events.filter((e) => e.event.type === 'frame').length;
      let fullDecodeMs: number | null = null;
      if (decoder === 'taesd') {
        // The pause is over: the full VAE on the same request (the engine reuses the latents).
        const fullId = ++id;
        const asked = wallNow();
        engine.send({
          type: 'generate',
          id: fullId,
          params: params(lastPrompt),
          live: false,
          decoder: 'vae',
        });
        await engine.idle();
        const full = engine.events.find((e) => e.event.type === 'frame' && e.event.id === fullId);
        if (full?.event.type !== 'frame' || !full.event.timings.latentsReused) {
          throw new Error('the full-VAE decode after the pause did not reuse the latents');
        }
        fullDecodeMs = full.at - asked;
      }
      results.push({
        decoder,
        intervalInGenerations: fraction,
        keystrokeIntervalMs: interval,
        keystrokes: TEXT.length,
        generationsStarted: started,
        framesPainted: frames,
        startedPerKeystroke: started / TEXT.length,
        oneGenerationMs,
        lastKeystrokeToFinalFrameMs: latency,
        latencyInGenerations: latency / oneGenerationMs,
        framesPerSecond: (frames * 1000) / (finalFrame.at - firstKeystroke),
        fullDecodeMs,
      });
    }
  await engine.stop();
  return results;
}

export function printLiveTyping(results: LiveTypingResult[], modelDir = 'tiny fp32 model'): void {
  console.log(
    `\nLive typing: ${modelDir}, 512x512, 1 step, wasm in Node, engine in a worker thread`,
  );
  console.log(
    'decoder  key interval        keys  started  started/key  frames  last key -> final frame    fps  full VAE after pause',
  );
  for (const r of results) {
    const interval = `${r.intervalInGenerations} gen (${r.keystrokeIntervalMs.toFixed(0)} ms)`;
    console.log(
      [
        r.decoder.padEnd(8),
        interval.padEnd(18),
        String(r.keystrokes).padStart(5),
        String(r.generationsStarted).padStart(8),
        r.startedPerKeystroke.toFixed(2).padStart(12),
        String(r.framesPainted).padStart(7),
        `${r.latencyInGenerations.toFixed(2)} gen (${r.lastKeystrokeToFinalFrameMs.toFixed(0)} ms)`.padStart(
          24,
        ),
        r.framesPerSecond.toFixed(1).padStart(6),
        (r.fullDecodeMs === null ? '-' : `${r.fullDecodeMs.toFixed(0)} ms`).padStart(20),
      ].join(' '),
    );
  }
  console.log(
    `one generation: ${results[0]?.oneGenerationMs.toFixed(0)} ms with the full VAE (engine-timed median of 3, same run)`,
  );
  const flops = decoderFlopRatio(512, 512);
  console.log(
    `decoders at 512x512 (analytic, real sizes): SDXL VAE ${(flops.vae / 1e12).toFixed(2)} TFLOP, ` +
      `TAESDXL ${(flops.taesd / 1e12).toFixed(3)} TFLOP: ratio ${flops.ratio.toFixed(1)}x. ` +
      "The tiny test model's VAE is not to scale (its TAESDXL is width 4), so the timings above show the scheduling, not the real saving.",
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? ensureTinyTestModel();
  printLiveTyping(await benchLiveTyping(dir), dir);
}
