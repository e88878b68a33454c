/** The browser cannot run this model on the chosen backend; the message says why in plain words. */
export class CapabilityError extends Error {
  override name = 'CapabilityError';
  constructor(
    readonly code: 'no-webgpu' | 'no-shader-f16' | 'gpu-limits' | 'out-of-memory',
    message: string,
  ) {
    super(message);
  }
}
