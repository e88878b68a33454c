/**
 * Keeps alive, and counts, the reads onnxruntime-web makes from Blob external data.
 *
 * The `/jspi` build reads each tensor as `blob.slice(a, b).stream()` with a BYOB reader and
 * keeps no reference to the stream or the reader while a read is pending (its code sets the
 * stream variable to 0 right after getReader). In Chromium such a stream can be garbage
 * collected mid-read, and its pending read then never settles: session creation waits forever
 * with the worker idle. Measured with Chromium 156 (forced GC during 8 MiB BYOB reads of a
 * 128 MiB Blob): 9 of 16 reads of an IndexedDB-backed Blob and 11 of 16 of an in-memory Blob
 * never settled; with the streams referenced, 16 of 16 settled each time.
 *
 * `wrap(blob)` returns a Blob (still `instanceof Blob`, same bytes) whose slices open streams
 * this tracker holds, with their readers, until each stream is read to its end or `release()`
 * is called. The reads it sees are also the progress of "uploading weights" and the evidence
 * the load watchdog uses: a read pending with no bytes arriving is a stall.
 */

/** Read activity, for progress reports and the load watchdog. */
export interface BlobReadActivity {
  /** Bytes delivered to the runtime so far. */
  bytesRead: number;
  /** Reads started and not yet settled. */
  pendingReads: number;
}

type ReadFn = (view?: ArrayBufferView) => Promise<ReadableStreamReadResult<unknown>>;

export class BlobReadTracker {
  private readonly held = new Set<object>();
  bytesRead = 0;
  pendingReads = 0;

  /** `onActivity` is called whenever a read starts or delivers bytes. */
  constructor(private readonly onActivity: (activity: BlobReadActivity) => void = () => {}) {}

  /** Streams and readers currently referenced (tests read it). */
  get heldCount(): number {
    return this.held.size;
  }

  /** A Blob with the same bytes whose slices and streams this tracker keeps and counts. */
  wrap(blob: Blob): Blob {
    // A Blob made of a Blob references its data (no copy); own properties shadow the methods.
    const wrapped = new Blob([blob], { type: blob.type });
    const nativeSlice = Blob.prototype.slice;
    const nativeStream = Blob.prototype.stream;
    Object.defineProperty(wrapped, 'slice', {
      value: (start?: number, end?: number, contentType?: string) =>
        this.wrap(nativeSlice.call(wrapped, start, end, contentType)),
    });
    Object.defineProperty(wrapped, 'stream', {
      value: () => this.track(nativeStream.call(wrapped) as ReadableStream<Uint8Array>),
    });
    return wrapped;
  }

  /** Drops every reference this tracker still holds. */
  release(): void {
    this.held.clear();
  }

  private report(): void {
    this.onActivity({ bytesRead: this.bytesRead, pendingReads: this.pendingReads });
  }

  private track(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    this.held.add(stream);
    const nativeGetReader = stream.getReader.bind(stream) as (options?: unknown) => object;
    Object.defineProperty(stream, 'getReader', {
      value: (options?: unknown) => {
        const reader = nativeGetReader(options) as { read: ReadFn };
        this.held.add(reader);
        const nativeRead = reader.read.bind(reader);
        const done = () => {
          this.held.delete(reader);
          this.held.delete(stream);
        };
        Object.defineProperty(reader, 'read', {
          value: async (view?: ArrayBufferView) => {
            this.pendingReads++;
            this.report();
            try {
              const result = await nativeRead(view);
              const value = result.value as ArrayBufferView | undefined;
              this.bytesRead += value?.byteLength ?? 0;
              if (result.done) done();
              return result;
            } catch (error) {
              done();
              throw error;
            } finally {
              this.pendingReads--;
              this.report();
            }
          },
        });
        return reader;
      },
    });
    return stream;
  }
}
