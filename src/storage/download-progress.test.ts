import { describe, expect, it } from 'vitest';
import { ProgressTracker, type DownloadProgress } from './download-progress.ts';

describe('ProgressTracker', () => {
  it('reports loaded bytes per file and in total, speed over a window, and time left', () => {
    let now = 0;
    const events: DownloadProgress[] = [];
    const tracker = new ProgressTracker(
      [
        { path: 'a', bytes: 1000 },
        { path: 'b', bytes: 3000 },
      ],
      (p) => events.push(p),
      () => now,
      200,
    );
    tracker.setLoaded('a', 400); // already stored: counts as loaded, not as speed
    now = 1000;
    tracker.received('b', 500);
    tracker.setLoaded('b', 500);
    now = 2000;
    tracker.received('b', 500);
    tracker.setLoaded('b', 1000);
    const last = events[events.length - 1]!;
    expect(last.total).toMatchObject({ loadedBytes: 1400, totalBytes: 4000, bytesPerSecond: 1000 });
    expect(last.total.secondsLeft).toBeCloseTo(2.6);
    expect(last.files['b']).toMatchObject({
      loadedBytes: 1000,
      totalBytes: 3000,
      bytesPerSecond: 1000,
      secondsLeft: 2,
    });
    expect(last.files['a']).toMatchObject({ bytesPerSecond: 0, secondsLeft: null });
  });

  it('emits at most once per interval unless forced, and forgets speed after a pause', () => {
    let now = 0;
    let count = 0;
    const tracker = new ProgressTracker(
      [{ path: 'a', bytes: 10 }],
      () => count++,
      () => now,
      200,
    );
    tracker.setLoaded('a', 1);
    tracker.setLoaded('a', 2);
    now = 100;
    tracker.setLoaded('a', 3);
    expect(count).toBe(1);
    tracker.maybeEmit(true);
    expect(count).toBe(2);
    tracker.received('a', 5);
    tracker.resetRates();
    expect(tracker.snapshot().total.bytesPerSecond).toBe(0);
  });
});
