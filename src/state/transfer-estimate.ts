/** Time left for a transfer whose only figures are bytes so far and the total. */

/** When a load's first bytes arrived, and how many there were then. */
export interface TransferStart {
  atMs: number;
  bytes: number;
}

/**
 * Seconds left at the average rate since `start`; null until a rate can be told (under half a
 * second measured, or nothing moved), and 0 once everything is in.
 */
export function estimateSecondsLeft(
  start: TransferStart,
  nowMs: number,
  loadedBytes: number,
  totalBytes: number,
): number | null {
  if (loadedBytes >= totalBytes) return 0;
  const elapsedMs = nowMs - start.atMs;
  const moved = loadedBytes - start.bytes;
  if (elapsedMs < 500 || moved <= 0) return null;
  return (totalBytes - loadedBytes) / (moved / (elapsedMs / 1000));
}
