/**
 * Tells the page when the GPU device onnxruntime-web computes on is lost (driver reset, GPU
 * out of memory, the system reclaiming it, or `device.destroy()`). The page then replaces this
 * worker: its onnxruntime-web instance cannot move to a new device.
 */
/** The part of GPUDevice this needs (structural, so Node tests can pass a fake). */
export interface LosableDevice {
  readonly lost: Promise<{ reason: string; message: string }>;
}

const watched = new WeakSet<LosableDevice>();

export function describeDeviceLoss(info: { reason: string; message: string }): string {
  const why = info.reason === 'destroyed' ? 'the device was destroyed' : 'reason unknown';
  const detail = info.message.trim().replace(/\.$/, '');
  return `The GPU device was lost (${why})${detail ? `: ${detail}` : ''}.`;
}

/** Calls `onLost` once when `device` is lost; watching the same device again does nothing. */
export function watchDeviceLoss(device: LosableDevice, onLost: (message: string) => void): void {
  if (watched.has(device)) return;
  watched.add(device);
  void device.lost.then((info) => onLost(describeDeviceLoss(info)));
}
