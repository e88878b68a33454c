import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Frame } from '../state/store';
import { paintFrame } from './OutputPanel';

/** Node has no ImageData: a minimal stand-in with the same constructor check. */
class FakeImageData {
  constructor(
    readonly data: Uint8ClampedArray,
    readonly width: number,
    readonly height: number,
  ) {
    if (data.length !== width * height * 4) throw new RangeError('bad size');
  }
}

afterEach(() => vi.unstubAllGlobals());

describe('paintFrame', () => {
  it('paints 1:1 and tags the canvas with frame id, seed and backend', () => {
    vi.stubGlobal('ImageData', FakeImageData);
    const putImageData = vi.fn();
    const canvas = {
      width: 300,
      height: 150,
      dataset: {} as Record<string, string>,
      getContext: () => ({ putImageData }),
    };
    const frame: Frame = {
      id: 7,
      width: 2,
      height: 3,
      pixels: new Uint8Array(24).fill(9).buffer,
      backend: 'wasm',
      params: { prompt: 'x', seed: 4294967295, steps: 1, width: 2, height: 3 },
      timings: {
        tokenize: 0,
        textEncoders: 0,
        promptCached: false,
        unetSteps: [0],
        vaeDecode: 0,
        toPixels: 0,
        total: 0,
      },
      latencyMs: null,
    };
    paintFrame(canvas as unknown as HTMLCanvasElement, frame);
    expect(canvas.width).toBe(2);
    expect(canvas.height).toBe(3);
    const [image, x, y] = putImageData.mock.calls[0] as [FakeImageData, number, number];
    expect([x, y]).toEqual([0, 0]);
    expect(image.data[23]).toBe(9);
    expect(canvas.dataset).toEqual({
      frameId: '7',
      seed: '4294967295',
      backend: 'wasm',
      decoder: 'vae',
    });
    // A per-step TAESDXL preview says so; the request's own frame clears the step again.
    paintFrame(canvas as unknown as HTMLCanvasElement, {
      ...frame,
      timings: null,
      decoder: 'taesd',
      preview: { step: 1, steps: 2 },
    });
    expect(canvas.dataset).toMatchObject({ decoder: 'taesd', previewStep: '1/2' });
    paintFrame(canvas as unknown as HTMLCanvasElement, { ...frame, decoder: 'taesd' });
    expect(canvas.dataset.previewStep).toBeUndefined();
    expect(canvas.dataset.decoder).toBe('taesd');
  });
});
