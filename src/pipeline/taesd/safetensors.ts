/**
 * A reader (and a small writer, for test models) of the safetensors format
 * (huggingface/safetensors): an 8-byte little-endian header length, a JSON header mapping each
 * tensor name to { dtype, shape, data_offsets: [begin, end] } (offsets into the bytes after the
 * header), an optional "__metadata__" entry, then the tensors' bytes, little-endian, row-major.
 *
 * Only float tensors are read (F32, F16, BF16), widened to float32: the tiny autoencoder's
 * weights go into our own float32 ONNX graphs.
 */
import { fromHalfBits } from '../float16.ts';
import { ModelFormatError } from '../tensors.ts';

export interface FloatTensor {
  shape: number[];
  data: Float32Array;
}

const BYTES_PER_ELEMENT: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

/** Header over 100 MB: not a real file (the format's own reference reader refuses the same). */
const MAX_HEADER_BYTES = 100_000_000;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

function isHeaderEntry(value: unknown): value is HeaderEntry {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return (
    typeof entry['dtype'] === 'string' &&
    Array.isArray(entry['shape']) &&
    entry['shape'].every((d) => Number.isInteger(d) && (d as number) >= 0) &&
    Array.isArray(entry['data_offsets']) &&
    entry['data_offsets'].length === 2 &&
    entry['data_offsets'].every((o) => Number.isInteger(o) && (o as number) >= 0)
  );
}

/** Every tensor in the file, widened to float32. `what` names the file in errors. */
export function readSafetensors(
  bytes: Uint8Array,
  what = 'safetensors file',
): Map<string, FloatTensor> {
  if (bytes.byteLength < 8) throw new ModelFormatError(`${what} is too short to be safetensors`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerBytes = Number(view.getBigUint64(0, true));
  if (headerBytes > MAX_HEADER_BYTES || 8 + headerBytes > bytes.byteLength) {
    throw new ModelFormatError(`${what} has a header length (${headerBytes}) past its end`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerBytes)));
  } catch {
    throw new ModelFormatError(`${what} has no JSON header (not a safetensors file)`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new ModelFormatError(`${what} has a header that is not a JSON object`);
  }
  const dataStart = 8 + headerBytes;
  const dataBytes = bytes.byteLength - dataStart;
  const tensors = new Map<string, FloatTensor>();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    if (!isHeaderEntry(entry))
      throw new ModelFormatError(`${what}: tensor "${name}" has a malformed entry`);
    const width = BYTES_PER_ELEMENT[entry.dtype];
    if (width === undefined) {
      throw new ModelFormatError(
        `${what}: tensor "${name}" is ${entry.dtype}; only F32, F16, BF16 are read`,
      );
    }
    const [begin, end] = entry.data_offsets;
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (end < begin || end > dataBytes || end - begin !== count * width) {
      throw new ModelFormatError(`${what}: tensor "${name}" has offsets that do not fit its shape`);
    }
    const data = new Float32Array(count);
    const at = dataStart + begin;
    if (entry.dtype === 'F32') {
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(at + i * 4, true);
    } else if (entry.dtype === 'F16') {
      for (let i = 0; i < count; i++) data[i] = fromHalfBits(view.getUint16(at + i * 2, true));
    } else {
      // bfloat16: the high half of a float32.
      const widened = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        widened.setUint32(0, view.getUint16(at + i * 2, true) << 16, true);
        data[i] = widened.getFloat32(0, true);
      }
    }
    tensors.set(name, { shape: [...entry.shape], data });
  }
  return tensors;
}

/** float32 tensors as one safetensors file (sorted names, as the reference writer sorts them). */
export function writeSafetensors(tensors: ReadonlyMap<string, FloatTensor>): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, HeaderEntry> = {};
  let offset = 0;
  for (const name of names) {
    const tensor = tensors.get(name)!;
    const end = offset + tensor.data.length * 4;
    header[name] = { dtype: 'F32', shape: tensor.shape, data_offsets: [offset, end] };
    offset = end;
  }
  let json = JSON.stringify(header);
  // The data starts 8-byte aligned, as the reference writer pads the header with spaces.
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    for (const v of tensors.get(name)!.data) {
      view.setFloat32(at, v, true);
      at += 4;
    }
  }
  return out;
}
