/**
 * The engine and model families: the family the host loaded is reported with the model, the
 * user's family choice reaches the host, and a generate with a step count the family does not
 * run is refused before any work (the pipeline's own 1-4 would accept it).
 */
import { describe, expect, it } from 'vitest';
import { SDXL_LIGHTNING } from '../pipeline/families/sdxl-lightning.ts';
import { SDXL_TURBO } from '../pipeline/families/sdxl-turbo.ts';
import { fakeModel } from '../pipeline/testing/fake-model.ts';
import type { WorkerEvent } from '../protocol/messages.ts';
import { Engine, familyWarmUpSize } from './engine.ts';

function lightningHarness() {
  const events: WorkerEvent[] = [];
  const chosen: Array<string | undefined> = [];
  const runs: string[] = [];
  const engine = new Engine({
    post: (event) => events.push(event),
    now: () => 0,
    log: () => {},
    loadModel: async (_url, _backend, _progress, _stage, family) => {
      chosen.push(family);
      const model = { ...fakeModel({ onRun: (g) => void runs.push(g) }), family: SDXL_LIGHTNING };
      return { model, backend: 'webgpu' };
    },
  });
  return { engine, events, chosen, runs };
}

const params = { prompt: 'a cat', seed: 7, width: 64, height: 64 };

describe('worker engine with model families', () => {
  it("reports the loaded model's family and passes the user's choice to the host", async () => {
    const { engine, events, chosen } = lightningHarness();
    engine.receive({ type: 'load-model', id: 1, baseUrl: 'http://x/', backend: 'auto' });
    engine.receive({
      type: 'load-model',
      id: 2,
      baseUrl: 'http://x/',
      backend: 'auto',
      family: 'sdxl-lightning',
    });
    await engine.idle();
    expect(chosen).toEqual([undefined, 'sdxl-lightning']);
    const loaded = events.filter((e) => e.type === 'model-loaded');
    expect(loaded.map((e) => e.type === 'model-loaded' && e.family)).toEqual([
      'sdxl-lightning',
      'sdxl-lightning',
    ]);
  });

  it('ignores a load request naming an unknown family', async () => {
    const { engine, chosen } = lightningHarness();
    engine.receive({
      type: 'load-model',
      id: 1,
      baseUrl: 'http://x/',
      backend: 'auto',
      family: 'sd15',
    });
    await engine.idle();
    expect(chosen).toEqual([]);
  });

  it('runs the 4 steps SDXL-Lightning takes and refuses 2 before any graph runs', async () => {
    const { engine, events, runs } = lightningHarness();
    engine.receive({ type: 'load-model', id: 1, baseUrl: 'http://x/', backend: 'auto' });
    await engine.idle();
    engine.receive({ type: 'generate', id: 2, params: { ...params, steps: 2 } });
    await engine.idle();
    expect(events.at(-1)).toMatchObject({
      type: 'error',
      id: 2,
      error: { code: 'bad-request', message: 'SDXL-Lightning (4-step) runs 4 steps, not 2' },
    });
    expect(runs).toEqual([]);
    engine.receive({ type: 'generate', id: 3, params: { ...params, steps: 4 } });
    await engine.idle();
    const frame = events.at(-1);
    if (frame?.type !== 'frame') throw new Error(`no frame: ${JSON.stringify(frame)}`);
    expect(frame.timings.unetSteps).toHaveLength(4);
  });
});

describe('the warm-up size and the family', () => {
  it("keeps the page's size where the family offers it, else takes the family's default", () => {
    const page = { width: 512, height: 512, steps: 1 };
    expect(familyWarmUpSize(SDXL_TURBO, page)).toEqual(page);
    expect(familyWarmUpSize(SDXL_LIGHTNING, page)).toEqual({ width: 1024, height: 1024, steps: 1 });
    const lightningSize = { width: 768, height: 768, steps: 4 };
    expect(familyWarmUpSize(SDXL_LIGHTNING, lightningSize)).toEqual(lightningSize);
    // A size no family offers (a benchmark's) is kept.
    const benchSize = { width: 64, height: 64, steps: 1 };
    expect(familyWarmUpSize(SDXL_LIGHTNING, benchSize)).toEqual(benchSize);
    expect(familyWarmUpSize(SDXL_TURBO, { width: 128, height: 64, steps: 3 })).toEqual({
      width: 128,
      height: 64,
      steps: 3,
    });
  });
});
