import type { WatchdogClock } from '../load-watchdog.ts';

/** A clock the test moves by hand; advancing runs the watchdog's interval. */
export class FakeClock implements WatchdogClock {
  t = 0;
  private readonly timers = new Map<number, () => void>();
  private next = 1;
  now = () => this.t;
  setInterval = (fn: () => void) => {
    this.timers.set(this.next, fn);
    return this.next++;
  };
  clearInterval = (handle: unknown) => {
    this.timers.delete(handle as number);
  };
  get active(): number {
    return this.timers.size;
  }
  advance(ms: number): void {
    this.t += ms;
    for (const fn of [...this.timers.values()]) fn();
  }
}
