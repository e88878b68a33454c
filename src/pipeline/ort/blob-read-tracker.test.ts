import { describe, expect, it } from 'vitest';
import { BlobReadTracker, type BlobReadActivity } from './blob-read-tracker.ts';

/** Reads a range as onnxruntime-web's JSPI build does: slice, stream, BYOB reader if offered. */
async function readLikeOrt(blob: Blob, start: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let stream: ReadableStream<Uint8Array> | 0 = blob.slice(start, start + length).stream();
  let byob = true;
  let reader: ReadableStreamBYOBReader | ReadableStreamDefaultReader<Uint8Array>;
  try {
    reader = stream.getReader({ mode: 'byob' });
  } catch {
    byob = false;
    reader = stream.getReader();
  }
  stream = 0; // as the runtime does: nothing else references the stream
  let offset = 0;
  let buffer = new ArrayBuffer(1024);
  for (;;) {
    const result = byob
      ? await (reader as ReadableStreamBYOBReader).read(new Uint8Array(buffer))
      : await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
    if (result.value) {
      out.set(result.value, offset);
      offset += result.value.byteLength;
      if (byob) buffer = (result.value.buffer as ArrayBuffer).slice(0, 1024);
    }
    if (result.done) break;
  }
  expect(offset).toBe(length);
  return out;
}

function pattern(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + 3) & 255;
  return out;
}

describe('BlobReadTracker', () => {
  it('gives a Blob with the same bytes that still is a Blob, through nested slices', async () => {
    const bytes = pattern(10_000);
    const tracker = new BlobReadTracker();
    const wrapped = tracker.wrap(new Blob([bytes]));
    expect(wrapped).toBeInstanceOf(Blob);
    expect(wrapped.size).toBe(bytes.length);
    expect(await readLikeOrt(wrapped, 1234, 5000)).toEqual(bytes.subarray(1234, 6234));
    // A slice of the slice (the resharding loader slices before the runtime does).
    const shard = wrapped.slice(2000, 9000);
    expect(shard).toBeInstanceOf(Blob);
    expect(await readLikeOrt(shard, 100, 3000)).toEqual(bytes.subarray(2100, 5100));
    expect(new Uint8Array(await wrapped.arrayBuffer())).toEqual(bytes);
  });

  it('holds each stream and reader while it is read, and counts the bytes', async () => {
    const activity: BlobReadActivity[] = [];
    const tracker = new BlobReadTracker((a) => activity.push({ ...a }));
    const wrapped = tracker.wrap(new Blob([pattern(4096)]));
    const stream = wrapped.slice(0, 4096).stream();
    expect(tracker.heldCount).toBe(1);
    const reader = stream.getReader();
    expect(tracker.heldCount).toBe(2);
    let result = await reader.read();
    let read = 0;
    while (!result.done) {
      read += result.value.byteLength;
      result = await reader.read();
    }
    expect(read).toBe(4096);
    expect(tracker.bytesRead).toBe(4096);
    expect(tracker.heldCount).toBe(0); // read to its end: released
    expect(activity.some((a) => a.pendingReads === 1)).toBe(true);
    expect(activity.at(-1)).toEqual({ bytesRead: 4096, pendingReads: 0 });
  });

  it('release() drops streams that were never read to the end', () => {
    const tracker = new BlobReadTracker();
    const wrapped = tracker.wrap(new Blob([pattern(100)]));
    wrapped.slice(0, 50).stream().getReader();
    expect(tracker.heldCount).toBe(2);
    tracker.release();
    expect(tracker.heldCount).toBe(0);
  });
});
