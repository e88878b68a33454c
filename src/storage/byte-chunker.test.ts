import { describe, expect, it } from 'vitest';
import { ByteChunker } from './byte-chunker.ts';
import { testBytes } from './testing/weight-server.ts';

describe('ByteChunker', () => {
  it('cuts pieces of any size into chunks of exactly the chunk size, in order', () => {
    const bytes = testBytes(10_007);
    const chunker = new ByteChunker(1000);
    const chunks: Uint8Array[] = [];
    // Piece sizes smaller than, equal to and larger than a chunk.
    const sizes = [1, 999, 1000, 2500, 3, 4000, 7, 1497];
    let offset = 0;
    for (const size of sizes) {
      chunks.push(...chunker.push(bytes.subarray(offset, offset + size)));
      offset += size;
    }
    expect(offset).toBe(bytes.byteLength);
    expect(chunks.map((c) => c.byteLength)).toEqual(Array(10).fill(1000));
    expect(chunker.pendingBytes).toBe(7);
    const rest = chunker.rest();
    expect(rest.byteLength).toBe(7);
    const joined = new Uint8Array(bytes.byteLength);
    [...chunks, rest].reduce((at, c) => (joined.set(c, at), at + c.byteLength), 0);
    expect(joined).toEqual(bytes);
  });

  it('hands out a fresh buffer per chunk (a stored chunk is never overwritten)', () => {
    const chunker = new ByteChunker(4);
    const [first] = chunker.push(new Uint8Array([1, 2, 3, 4]));
    chunker.push(new Uint8Array([9, 9, 9, 9]));
    expect([...first!]).toEqual([1, 2, 3, 4]);
    expect(chunker.rest().byteLength).toBe(0);
  });
});
