/**
 * The external data file of an fp16-converted graph, and its conversion as a stream.
 *
 * Layout (decided from the graph alone, so a downloader knows it before the first byte): the
 * source file's tensors in offset order, each float32 tensor that the converter turns to fp16
 * at half its length, every other tensor copied; each tensor starts at a multiple of
 * {@link OUTPUT_ALIGNMENT} (zero padding between), and bytes of the source that no tensor uses
 * are skipped. A byte range of the output therefore maps to a byte range of the source, so a
 * conversion that stopped midway resumes from the output bytes already stored: the source is
 * fetched again from the matching offset, not from the start.
 */
import { convertFloat32Bytes } from './fp16-values.ts';

/** Output tensors start at multiples of this (as many bytes as a cache line; cheap to pad). */
export const OUTPUT_ALIGNMENT = 64;

/** One tensor's bytes: [sourceStart, sourceEnd) of the source become [outputStart, outputEnd). */
export interface ExternalSegment {
  /** The tensor's name (the first one, where several tensors share the bytes). */
  tensor: string;
  sourceStart: number;
  sourceEnd: number;
  outputStart: number;
  outputEnd: number;
  /** 'half': float32 source converted to float16; 'copy': bytes kept as they are. */
  mode: 'half' | 'copy';
}

export interface ExternalFileLayout {
  /** The external data file's name (`location`), the same in the source and the output graph. */
  location: string;
  /** Segments in source (and output) order. */
  segments: ExternalSegment[];
  /** Bytes of the converted file. */
  outputBytes: number;
  /** Bytes of the source file the converter reads (the end of its last tensor). */
  sourceBytes: number;
}

/** One external tensor of the source graph, and whether it becomes float16. */
export interface ExternalTensorPlan {
  name: string;
  location: string;
  offset: number;
  length: number;
  toHalf: boolean;
}

/** Lays out each external data file of the converted graph (see the module comment). */
export function planExternalFiles(tensors: readonly ExternalTensorPlan[]): ExternalFileLayout[] {
  const byLocation = new Map<string, ExternalTensorPlan[]>();
  for (const tensor of tensors) {
    byLocation.set(tensor.location, [...(byLocation.get(tensor.location) ?? []), tensor]);
  }
  const layouts: ExternalFileLayout[] = [];
  for (const [location, list] of [...byLocation].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const sorted = [...list].sort((a, b) => a.offset - b.offset || a.length - b.length);
    const segments: ExternalSegment[] = [];
    let outputEnd = 0;
    for (const tensor of sorted) {
      const last = segments[segments.length - 1];
      if (
        last &&
        last.sourceStart === tensor.offset &&
        last.sourceEnd === tensor.offset + tensor.length
      ) {
        if ((last.mode === 'half') !== tensor.toHalf) {
          throw new Error(
            `${location}: tensors ${last.tensor} and ${tensor.name} share bytes but only one becomes float16`,
          );
        }
        continue; // the same bytes, named twice: one segment
      }
      if (last && tensor.offset < last.sourceEnd) {
        throw new Error(`${location}: tensors ${last.tensor} and ${tensor.name} overlap`);
      }
      if (tensor.toHalf && tensor.length % 4 !== 0) {
        throw new Error(`${location}: float32 tensor ${tensor.name} is ${tensor.length} bytes`);
      }
      const outputStart = Math.ceil(outputEnd / OUTPUT_ALIGNMENT) * OUTPUT_ALIGNMENT;
      const outputLength = tensor.toHalf ? tensor.length / 2 : tensor.length;
      segments.push({
        tensor: tensor.name,
        sourceStart: tensor.offset,
        sourceEnd: tensor.offset + tensor.length,
        outputStart,
        outputEnd: outputStart + outputLength,
        mode: tensor.toHalf ? 'half' : 'copy',
      });
      outputEnd = outputStart + outputLength;
    }
    layouts.push({
      location,
      segments,
      outputBytes: outputEnd,
      sourceBytes: segments.length ? segments[segments.length - 1]!.sourceEnd : 0,
    });
  }
  return layouts;
}

/** Where the output's `offset` comes from, or null at the end / in padding before `segment`. */
export interface ResumePoint {
  /** The output offset the conversion restarts at (at or just before the one asked for). */
  outputOffset: number;
  /** The source offset to fetch from. */
  sourceOffset: number;
}

/**
 * The point to resume a conversion that has `storedOutputBytes` of the output: whole float16
 * values only (an odd byte inside a half segment is dropped and made again).
 */
export function resumePoint(layout: ExternalFileLayout, stored: number): ResumePoint {
  const storedOutputBytes = Math.max(0, Math.floor(stored));
  if (storedOutputBytes >= layout.outputBytes) {
    return { outputOffset: layout.outputBytes, sourceOffset: layout.sourceBytes };
  }
  for (const segment of layout.segments) {
    if (storedOutputBytes >= segment.outputEnd) continue;
    if (storedOutputBytes <= segment.outputStart) {
      // In the padding before this segment: the padding is remade, the source starts here.
      return { outputOffset: storedOutputBytes, sourceOffset: segment.sourceStart };
    }
    const into = storedOutputBytes - segment.outputStart;
    if (segment.mode === 'copy') {
      return { outputOffset: storedOutputBytes, sourceOffset: segment.sourceStart + into };
    }
    const even = into - (into % 2);
    return {
      outputOffset: segment.outputStart + even,
      sourceOffset: segment.sourceStart + even * 2,
    };
  }
  return { outputOffset: layout.outputBytes, sourceOffset: layout.sourceBytes };
}

/**
 * Converts one external data file as its bytes arrive: feed the source from `sourceOffset` of
 * the resume point on, in chunks of any size; each `push` returns the output bytes that follow
 * (in order, from `outputOffset`). Never holds more than one chunk plus three bytes.
 */
export class ExternalDataConverter {
  /** Values clamped to ±65504 so far. */
  clamped = 0;
  private sourcePosition: number;
  private outputPosition: number;
  private segmentIndex = 0;
  /** Up to 3 bytes of a float32 split between two chunks. */
  private carry = new Uint8Array(0);

  constructor(
    readonly layout: ExternalFileLayout,
    readonly start: ResumePoint = { outputOffset: 0, sourceOffset: 0 },
  ) {
    this.sourcePosition = start.sourceOffset;
    this.outputPosition = start.outputOffset;
    while (
      this.segmentIndex < layout.segments.length &&
      layout.segments[this.segmentIndex]!.outputEnd <= start.outputOffset
    ) {
      this.segmentIndex++;
    }
  }

  /** The next source offset this converter expects. */
  get nextSourceOffset(): number {
    return this.sourcePosition;
  }

  /** Output bytes written so far, counted from the start of the file. */
  get outputOffset(): number {
    return this.outputPosition;
  }

  get done(): boolean {
    return this.outputPosition >= this.layout.outputBytes;
  }

  /** Converts the next source bytes; returns the output bytes they complete. */
  push(chunk: Uint8Array): Uint8Array {
    const pieces: Uint8Array[] = [];
    let input = chunk;
    if (this.carry.byteLength) {
      const joined = new Uint8Array(this.carry.byteLength + chunk.byteLength);
      joined.set(this.carry);
      joined.set(chunk, this.carry.byteLength);
      input = joined;
      this.sourcePosition -= this.carry.byteLength;
      this.carry = new Uint8Array(0);
    }
    let used = 0;
    while (used < input.byteLength && this.segmentIndex < this.layout.segments.length) {
      const segment = this.layout.segments[this.segmentIndex]!;
      if (this.outputPosition < segment.outputStart) {
        pieces.push(new Uint8Array(segment.outputStart - this.outputPosition)); // padding
        this.outputPosition = segment.outputStart;
      }
      if (this.sourcePosition < segment.sourceStart) {
        // Bytes no tensor uses (the source's own alignment padding): skipped.
        const skip = Math.min(segment.sourceStart - this.sourcePosition, input.byteLength - used);
        used += skip;
        this.sourcePosition += skip;
        continue;
      }
      const available = Math.min(segment.sourceEnd - this.sourcePosition, input.byteLength - used);
      if (segment.mode === 'copy') {
        pieces.push(input.subarray(used, used + available));
        this.outputPosition += available;
      } else {
        const whole = available - (available % 4);
        if (whole > 0) {
          const half = new Uint8Array(whole / 2);
          this.clamped += convertFloat32Bytes(input.subarray(used, used + whole), half);
          pieces.push(half);
          this.outputPosition += whole / 2;
        }
        if (whole < available) {
          // A float32 split by the chunk boundary: kept for the next push.
          this.carry = new Uint8Array(input.subarray(used + whole, used + available)); // a copy
          this.sourcePosition += available;
          used += available;
          break;
        }
      }
      used += available;
      this.sourcePosition += available;
      if (this.sourcePosition >= segment.sourceEnd) this.segmentIndex++;
    }
    for (
      let empty = this.layout.segments[this.segmentIndex];
      empty && empty.sourceStart === empty.sourceEnd && this.sourcePosition >= empty.sourceEnd;
      empty = this.layout.segments[++this.segmentIndex]
    ) {
      // Zero-length tensors take no source bytes: pass them (their padding comes below).
      if (this.outputPosition < empty.outputStart) {
        pieces.push(new Uint8Array(empty.outputStart - this.outputPosition));
        this.outputPosition = empty.outputStart;
      }
    }
    if (
      this.segmentIndex >= this.layout.segments.length &&
      this.outputPosition < this.layout.outputBytes
    ) {
      pieces.push(new Uint8Array(this.layout.outputBytes - this.outputPosition));
      this.outputPosition = this.layout.outputBytes;
    }
    return concat(pieces);
  }
}

function concat(pieces: Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  const out = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.byteLength, 0));
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.byteLength;
  }
  return out;
}
