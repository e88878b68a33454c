import { describe, expect, it } from 'vitest';
import { WeightDownloadError, WeightFileError } from './errors.ts';
import { bodyPieces, checkFileAnswer } from './file-request.ts';
import type { ManifestFile } from './manifest.ts';

const file: ManifestFile = {
  path: 'unet/model.onnx_data',
  url: 'https://models.example/unet/model.onnx_data',
  bytes: 1000,
  role: 'external-data',
};

function answer(status: number, headers: Record<string, string>, body = 'x'): Response {
  return new Response(body, { status, headers });
}

describe('checkFileAnswer', () => {
  it('takes the range that was asked for, and a whole-file 200 from a host that ignores Range', () => {
    const ranged = answer(206, { 'Content-Range': 'bytes 100-199/1000' });
    expect(() => checkFileAnswer(file, ranged, 100, 200)).not.toThrow();
    const whole = answer(200, { 'Content-Length': '1000' });
    expect(() => checkFileAnswer(file, whole, 100, 200)).not.toThrow();
  });

  it('refuses another range, another length, another status, and a web page', () => {
    const shifted = answer(206, { 'Content-Range': 'bytes 0-99/1000' });
    expect(() => checkFileAnswer(file, shifted, 100, 200)).toThrow(WeightFileError);
    const otherFile = answer(200, { 'Content-Length': '999' });
    expect(() => checkFileAnswer(file, otherFile)).toThrow(/999 bytes, the manifest says 1000/);
    expect(() => checkFileAnswer(file, answer(203, {}), 100, 200)).toThrow(
      /answered a range request with HTTP 203/,
    );
    const page = answer(200, { 'Content-Type': 'text/html; charset=utf-8' });
    expect(() => checkFileAnswer(file, page)).toThrow(/HTML page/);
    const gone = answer(503, {});
    expect(() => checkFileAnswer(file, gone)).toThrow(WeightDownloadError);
  });

  it('lets a compressed answer through whatever length it declares', () => {
    const gzip = answer(200, { 'Content-Length': '10', 'Content-Encoding': 'gzip' });
    expect(() => checkFileAnswer(file, gzip)).not.toThrow();
  });
});

describe('bodyPieces', () => {
  it('yields the body and calls a read that breaks midway a retryable dropped connection', async () => {
    let sent = false;
    const breaking = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (!sent) {
          sent = true;
          controller.enqueue(new Uint8Array([1, 2, 3]));
        } else controller.error(new Error('reset by peer'));
      },
    });
    const received: number[] = [];
    const read = async () => {
      for await (const piece of bodyPieces(
        new Response(breaking),
        file,
        new AbortController().signal,
      ))
        received.push(...piece);
    };
    const error = await read().catch((e: unknown) => e);
    expect(received).toEqual([1, 2, 3]);
    expect(error).toBeInstanceOf(WeightDownloadError);
    expect((error as WeightDownloadError).retryable).toBe(true);
    expect((error as Error).message).toMatch(/connection .* broke \(reset by peer\)/);
  });
});
