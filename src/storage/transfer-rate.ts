/**
 * Download speed over a sliding window: recent bytes divided by the time they took, so the
 * estimate follows the connection as it changes instead of averaging since the start.
 */
export class TransferRate {
  private samples: Array<{ at: number; bytes: number }> = [];

  constructor(
    private readonly now: () => number,
    private readonly windowMs = 5000,
  ) {}

  add(bytes: number): void {
    const at = this.now();
    this.samples.push({ at, bytes });
    this.trim(at);
  }

  /** Forget the past (after a pause: the idle time is not a slow connection). */
  reset(): void {
    this.samples = [];
  }

  bytesPerSecond(): number {
    const at = this.now();
    this.trim(at);
    const first = this.samples[0];
    if (!first) return 0;
    // At least one second of span, so that the first sample does not read as a huge rate.
    const spanMs = Math.max(1000, at - first.at);
    const bytes = this.samples.reduce((sum, sample) => sum + sample.bytes, 0);
    return (bytes * 1000) / spanMs;
  }

  private trim(at: number): void {
    while (this.samples.length > 0 && at - this.samples[0]!.at > this.windowMs) {
      this.samples.shift();
    }
  }
}
