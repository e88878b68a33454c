/** Byte sizes as people read them, for messages ("needs 6.9 GB, 3.1 GB free"). */

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Decimal units, as operating systems and download pages show sizes. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'an unknown amount';
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) return `${Math.round(value)} bytes`;
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}
