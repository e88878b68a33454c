/**
 * Cuts a stream of network pieces (any sizes) into fixed-size chunks. Each chunk is a fresh
 * buffer of its own, so it can be stored or handed on while the next one fills.
 */
export class ByteChunker {
  private buffer: Uint8Array;
  private filled = 0;

  constructor(private readonly chunkSize: number) {
    this.buffer = new Uint8Array(chunkSize);
  }

  /** Bytes waiting for the current chunk to fill. */
  get pendingBytes(): number {
    return this.filled;
  }

  /** Adds a piece; returns the chunks it completed, in order (often none). */
  push(piece: Uint8Array): Uint8Array[] {
    const done: Uint8Array[] = [];
    let offset = 0;
    while (offset < piece.byteLength) {
      const take = Math.min(this.chunkSize - this.filled, piece.byteLength - offset);
      this.buffer.set(piece.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === this.chunkSize) {
        done.push(this.buffer);
        this.buffer = new Uint8Array(this.chunkSize);
        this.filled = 0;
      }
    }
    return done;
  }

  /** The last, shorter chunk at the end of a file (empty when the bytes ended on a boundary). */
  rest(): Uint8Array {
    const rest = this.buffer.slice(0, this.filled);
    this.filled = 0;
    return rest;
  }
}
