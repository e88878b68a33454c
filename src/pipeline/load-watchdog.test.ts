import { describe, expect, it } from 'vitest';
import { LoadStalledError, LoadWatchdog, type LoadStageReport } from './load-watchdog.ts';
import { FakeClock } from './testing/fake-clock.ts';

const never = () => new Promise<never>(() => {});

describe('LoadWatchdog', () => {
  it('fails a stage whose read is pending with no bytes for the read limit, naming graph and stage', async () => {
    const clock = new FakeClock();
    const watchdog = new LoadWatchdog({ clock, readStallMs: 60_000, idleStallMs: 600_000 });
    const result = watchdog.watch('unet', 'creating-session', (stage) => {
      stage.progress(1000, 5000, true); // a read started and never delivers
      return never();
    });
    clock.advance(59_000);
    clock.advance(2_000);
    const error = await result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoadStalledError);
    expect(error).toMatchObject({ graph: 'unet', stage: 'creating-session' });
    expect((error as Error).message).toMatch(/unet, creating its session .* no progress for 61 s/);
    expect(clock.active).toBe(0);
  });

  it('keeps a stage alive while bytes arrive, and reports them', async () => {
    const clock = new FakeClock();
    const reports: LoadStageReport[] = [];
    const watchdog = new LoadWatchdog({ clock, onStage: (r) => reports.push(r) });
    let finish: (v: string) => void = () => {};
    let progress: (n: number) => void = () => {};
    const result = watchdog.watch('textEncoder', 'reading', (stage) => {
      progress = (n) => stage.progress(n, 100, true);
      return new Promise<string>((resolve) => (finish = resolve));
    });
    for (let i = 1; i <= 10; i++) {
      clock.advance(50_000); // under the 60 s read limit each time
      progress(i * 10);
    }
    finish('done');
    await expect(result).resolves.toBe('done');
    expect(reports[0]).toEqual({
      graph: 'textEncoder',
      stage: 'reading',
      loadedBytes: 0,
      totalBytes: 0,
    });
    expect(reports.at(-1)).toEqual({
      graph: 'textEncoder',
      stage: 'reading',
      loadedBytes: 100,
      totalBytes: 100,
    });
  });

  it('gives computing without reads the longer idle limit', async () => {
    const clock = new FakeClock();
    const watchdog = new LoadWatchdog({ clock, readStallMs: 60_000, idleStallMs: 600_000 });
    let settled = false;
    const result = watchdog.watch('vaeDecoder', 'creating-session', () => never());
    result.catch(() => (settled = true));
    clock.advance(300_000);
    await Promise.resolve();
    expect(settled).toBe(false);
    clock.advance(301_000);
    await expect(result).rejects.toMatchObject({ graph: 'vaeDecoder', stage: 'creating-session' });
  });
});
