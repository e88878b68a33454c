/**
 * The gallery's storage: every kept image with its parameters, in its own IndexedDB database
 * (apart from the model weights, so clearing one never touches the other).
 *
 * One idb-keyval store holds two kinds of record per image:
 *   `meta:<id>`  { entry, thumbnail }  small: listing the gallery reads only these
 *   `png:<id>`   the full PNG bytes, with the parameters already in its text chunks, so a
 *                download is the stored bytes as they are
 * PNG bytes (Uint8Array) rather than Blobs: they clone everywhere (fake-indexeddb in Node too)
 * and a 512×512 PNG is a few hundred KB. The history keeps the newest `limit` images (200 by
 * default) and drops the oldest beyond that.
 */
import {
  clear,
  createStore,
  delMany,
  getMany,
  get,
  keys,
  setMany,
  type UseStore,
} from 'idb-keyval';
import type { ImageParameters } from '../pipeline/png-parameters.ts';
import {
  downscaleRgba,
  encodePng,
  encodePngWithParameters,
  type RgbaPixels,
} from '../pipeline/png-export.ts';

export const HISTORY_DB_NAME = 'sdxl-turbo-web-history';
export const HISTORY_LIMIT = 200;
/** Longer side of a gallery thumbnail, in pixels (2× the strip's CSS size for sharp screens). */
export const THUMBNAIL_SIDE = 128;

export interface HistoryEntry extends ImageParameters {
  id: string;
  /** ms since the epoch. */
  createdAt: number;
  /** 'webgpu' or 'wasm', when known. */
  backend?: string;
}

export interface HistoryItem {
  entry: HistoryEntry;
  /** A small PNG (no text chunks). */
  thumbnail: Uint8Array;
}

export interface HistoryStore {
  /** Stores an image (PNG with parameters + thumbnail) and drops the oldest beyond the limit. */
  add(image: RgbaPixels, params: ImageParameters, backend?: string): Promise<HistoryItem>;
  /** Every item, newest first. */
  list(): Promise<HistoryItem[]>;
  /** The full PNG (with its parameter chunks); undefined when it is gone. */
  png(id: string): Promise<Uint8Array | undefined>;
  remove(id: string): Promise<void>;
  clear(): Promise<void>;
}

export interface HistoryStoreOptions {
  dbName?: string;
  limit?: number;
  now?: () => number;
}

const META = 'meta:';
const PNG = 'png:';

function newestFirst(a: HistoryItem, b: HistoryItem): number {
  return b.entry.createdAt - a.entry.createdAt || (b.entry.id < a.entry.id ? -1 : 1);
}

export function createHistoryStore(options: HistoryStoreOptions = {}): HistoryStore {
  const limit = options.limit ?? HISTORY_LIMIT;
  const now = options.now ?? Date.now;
  // Opened on first use: a browser without IndexedDB fails there, not at import.
  let db: UseStore | null = null;
  const store = () => (db ??= createStore(options.dbName ?? HISTORY_DB_NAME, 'images'));
  let seq = 0;

  const metaKeys = async () =>
    (await keys(store())).filter((k): k is string => typeof k === 'string' && k.startsWith(META));

  const list = async (): Promise<HistoryItem[]> => {
    const values = await getMany<HistoryItem | undefined>(await metaKeys(), store());
    return values.filter((v): v is HistoryItem => v !== undefined).sort(newestFirst);
  };

  return {
    async add(image, params, backend) {
      const createdAt = now();
      // Sortable and unique even for two images in the same millisecond.
      const id = `${createdAt.toString(36).padStart(9, '0')}-${(seq++).toString(36).padStart(6, '0')}-${Math.random().toString(36).slice(2, 6)}`;
      const entry: HistoryEntry = { ...params, id, createdAt, ...(backend ? { backend } : {}) };
      const item: HistoryItem = {
        entry,
        thumbnail: encodePng(downscaleRgba(image, THUMBNAIL_SIDE)),
      };
      await setMany(
        [
          [META + id, item],
          [PNG + id, encodePngWithParameters(image, params)],
        ],
        store(),
      );
      const all = await list();
      const dropped = all.slice(limit).map((i) => i.entry.id);
      if (dropped.length > 0) {
        await delMany(
          dropped.flatMap((d) => [META + d, PNG + d]),
          store(),
        );
      }
      return item;
    },
    list,
    png: (id) => get<Uint8Array>(PNG + id, store()),
    remove: (id) => delMany([META + id, PNG + id], store()),
    clear: () => clear(store()),
  };
}
