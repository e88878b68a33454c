/**
 * A model manifest: every file of one model build, where to fetch it and how large it is.
 * The download manager stores what a manifest lists; the stored source serves those files to
 * the pipeline under their `path`, which is always the standard export layout
 * (src/pipeline/model-layout.ts) even when the host names the file differently.
 */
import {
  familyOf,
  isFamilyId,
  recogniseFamily,
  type FamilyId,
} from '../pipeline/families/registry.ts';
import { FAMILY_CONFIG_FILES, MODEL_FILES } from '../pipeline/model-layout.ts';
import { externalDataFiles } from '../pipeline/onnx/inspect.ts';
import { operatorRefusal } from '../pipeline/onnx/webgpu-operators.ts';
import { WeightFileError, errorMessage } from './errors.ts';
import {
  htmlPageError,
  isHtmlResponse,
  networkError,
  remoteFileSize,
  statusError,
  type FetchFn,
} from './http-file.ts';

/** 'weights': a safetensors file the app builds its own graph from (TAESDXL). */
export const FILE_ROLES = ['graph', 'external-data', 'tokenizer', 'config', 'weights'] as const;
export type FileRole = (typeof FILE_ROLES)[number];

export const MANIFEST_GRAPHS = [
  'textEncoder',
  'textEncoder2',
  'unet',
  'vaeDecoder',
  'vaeEncoder',
] as const;
export type ManifestGraph = (typeof MANIFEST_GRAPHS)[number];

export interface ManifestFile {
  /** Where the pipeline reads it, relative to the model root, e.g. 'unet/model.onnx_data'. */
  path: string;
  /** Where it is downloaded from (absolute http(s) URL). */
  url: string;
  bytes: number;
  /** `bytes` is an estimate (from a model card): the manager asks the server before storing. */
  bytesApproximate?: boolean;
  /** Lower-case hex SHA-256 of the whole file; when present the file is checked against it. */
  sha256?: string;
  role: FileRole;
  /** Which graph a 'graph' file is (and which graph an 'external-data' file belongs to). */
  graph?: ManifestGraph;
  /** The model works without it (vae_encoder, special_tokens_map.json): a 404 skips it. */
  optional?: boolean;
  /**
   * 'fp16': the file is an fp32 graph (or its external data) to be stored converted to fp16
   * (src/pipeline/onnx/fp16-convert.ts): about half of `bytes` is kept.
   */
  storeAs?: 'fp16';
}

export interface Manifest {
  /** Storage key: letters, digits, '.', '_', '-', '@' (no '/' or '#', which the store uses). */
  id: string;
  revision: string;
  displayName: string;
  baseUrl: string;
  files: ManifestFile[];
  /**
   * The model family (src/pipeline/families/): steps, sizes, sampler, image-to-image. Absent in
   * manifests saved before families existed: the loader then reads the export's config files.
   */
  family?: FamilyId;
}

const ID_PATTERN = /^[A-Za-z0-9._@-]+$/;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

function fail(field: string, problem: string): never {
  throw new Error(`Invalid model manifest: ${field} ${problem}`);
}

function requireString(record: Record<string, unknown>, key: string, field: string): string {
  const value = record[key];
  if (value === undefined) fail(`${field}.${key}`, 'is missing');
  if (typeof value !== 'string' || value.trim() === '') {
    fail(`${field}.${key}`, 'must be a non-empty string');
  }
  return value;
}

function requireHttpUrl(value: string, field: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(field, `is not an absolute URL: "${value}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    fail(field, `must be http(s), not ${url.protocol}`);
  }
}

/** A relative path inside the model folder: no '..', no leading '/', no '#'. */
export function isSafeRelativePath(path: string): boolean {
  return (
    path.length > 0 &&
    !path.startsWith('/') &&
    !path.includes('\\') &&
    !path.includes('#') &&
    path.split('/').every((part) => part !== '' && part !== '.' && part !== '..')
  );
}

function parseFile(value: unknown, field: string): ManifestFile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(field, 'must be an object');
  }
  const record = value as Record<string, unknown>;
  const path = requireString(record, 'path', field);
  if (!isSafeRelativePath(path)) {
    fail(`${field}.path`, `must be a relative path inside the model folder, not "${path}"`);
  }
  const url = requireString(record, 'url', field);
  requireHttpUrl(url, `${field}.url`);
  const bytes = record['bytes'];
  if (bytes === undefined) fail(`${field}.bytes`, 'is missing');
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) {
    fail(`${field}.bytes`, 'must be a non-negative integer');
  }
  const role = record['role'];
  if (role === undefined) fail(`${field}.role`, 'is missing');
  if (!FILE_ROLES.includes(role as FileRole)) {
    fail(`${field}.role`, `must be one of ${FILE_ROLES.join(', ')}`);
  }
  const file: ManifestFile = { path, url, bytes, role: role as FileRole };
  const graph = record['graph'];
  if (graph !== undefined) {
    if (!MANIFEST_GRAPHS.includes(graph as ManifestGraph)) {
      fail(`${field}.graph`, `must be one of ${MANIFEST_GRAPHS.join(', ')}`);
    }
    file.graph = graph as ManifestGraph;
  } else if (role === 'graph') {
    fail(`${field}.graph`, 'is missing (a graph file must say which graph it is)');
  }
  const sha256 = record['sha256'];
  if (sha256 !== undefined) {
    if (typeof sha256 !== 'string' || !SHA256_PATTERN.test(sha256)) {
      fail(`${field}.sha256`, 'must be 64 lower-case hex digits');
    }
    file.sha256 = sha256;
  }
  const storeAs = record['storeAs'];
  if (storeAs !== undefined) {
    if (storeAs !== 'fp16') fail(`${field}.storeAs`, 'must be "fp16"');
    if (file.role !== 'graph' && file.role !== 'external-data') {
      fail(`${field}.storeAs`, 'is only for graphs and their external data');
    }
    file.storeAs = storeAs;
  }
  for (const flag of ['bytesApproximate', 'optional'] as const) {
    const flagValue = record[flag];
    if (flagValue === undefined) continue;
    if (typeof flagValue !== 'boolean') fail(`${field}.${flag}`, 'must be true or false');
    file[flag] = flagValue;
  }
  return file;
}

/** Checks untrusted JSON (a fetched manifest, a stored one) and returns it typed. */
export function parseManifest(json: unknown): Manifest {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    fail('(root)', 'must be a JSON object');
  }
  const record = json as Record<string, unknown>;
  const id = requireString(record, 'id', 'manifest');
  if (!ID_PATTERN.test(id)) {
    fail('manifest.id', `may only hold letters, digits and . _ @ - (got "${id}")`);
  }
  const revision = requireString(record, 'revision', 'manifest');
  const displayName = requireString(record, 'displayName', 'manifest');
  const baseUrl = requireString(record, 'baseUrl', 'manifest');
  requireHttpUrl(baseUrl, 'manifest.baseUrl');
  const files = record['files'];
  if (files === undefined) fail('manifest.files', 'is missing');
  if (!Array.isArray(files) || files.length === 0) {
    fail('manifest.files', 'must be a non-empty array');
  }
  const parsed = files.map((file, index) => parseFile(file, `manifest.files[${index}]`));
  const seen = new Set<string>();
  for (const [index, file] of parsed.entries()) {
    if (seen.has(file.path)) {
      fail(`manifest.files[${index}].path`, `repeats "${file.path}"`);
    }
    seen.add(file.path);
  }
  const family = record['family'];
  if (family !== undefined && !isFamilyId(family)) {
    fail('manifest.family', `is not a known model family: ${String(family)}`);
  }
  return { id, revision, displayName, baseUrl, files: parsed, ...(family ? { family } : {}) };
}

/** The sum of the manifest's file sizes. */
export function manifestBytes(manifest: Manifest): number {
  return manifest.files.reduce((sum, file) => sum + file.bytes, 0);
}

/**
 * Whether a stored file record of `storedBytes` is this manifest file: the same size, or for a
 * file stored as fp16, the converted size (known only once converted; the record says it).
 */
export function storedSizeMatches(file: ManifestFile, storedBytes: number): boolean {
  return file.storeAs === 'fp16' ? storedBytes > 0 : storedBytes === file.bytes;
}

/**
 * What the manifest keeps once stored: its download size, less half of each file stored as
 * fp16 (float32 weights become float16; a graph file's own structure is small).
 */
export function manifestKeptBytes(manifest: Manifest): number {
  return manifest.files.reduce(
    (sum, file) => sum + (file.storeAs === 'fp16' ? Math.ceil(file.bytes / 2) : file.bytes),
    0,
  );
}

/** The graph files of the standard layout, with the graph each one is. */
const LAYOUT_GRAPHS: Array<{ graph: ManifestGraph; path: string; optional: boolean }> = [
  { graph: 'textEncoder', path: MODEL_FILES.textEncoder, optional: false },
  { graph: 'textEncoder2', path: MODEL_FILES.textEncoder2, optional: false },
  { graph: 'unet', path: MODEL_FILES.unet, optional: false },
  { graph: 'vaeDecoder', path: MODEL_FILES.vaeDecoder, optional: false },
  { graph: 'vaeEncoder', path: MODEL_FILES.vaeEncoder, optional: true },
];

const LAYOUT_TOKENIZER_FILES: Array<{ path: string; optional: boolean }> = [
  { path: MODEL_FILES.tokenizerVocab, optional: false },
  { path: MODEL_FILES.tokenizerMerges, optional: false },
  { path: MODEL_FILES.tokenizerSpecialTokens, optional: true },
  { path: MODEL_FILES.tokenizer2Vocab, optional: false },
  { path: MODEL_FILES.tokenizer2Merges, optional: false },
  { path: MODEL_FILES.tokenizer2SpecialTokens, optional: true },
];

/** Graphs larger than this are taken to hold their weights inline (no external data). */
const INLINE_GRAPH_BYTES = 64 * 1024 * 1024;

/** A short stable id for a URL (FNV-1a, 32 bits): enough to tell custom models apart. */
export function urlId(url: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < url.length; i++) {
    hash ^= url.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `custom-${hash.toString(16).padStart(8, '0')}`;
}

function directoryOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash + 1);
}

export interface ManifestFromUrlOptions {
  signal?: AbortSignal;
  /** Defaults: an id derived from the URL, the URL as the display name, revision 'unknown'. */
  id?: string;
  /** The family the user chose; absent: recognised from the export's config files. */
  family?: FamilyId;
  displayName?: string;
  revision?: string;
}

/**
 * Builds the manifest of a model in the standard export layout at a custom base URL. Each
 * graph is fetched once to read which external data files it names (their names differ
 * between exporters: model.onnx_data, model.onnx.data, weights.pb ...); every other size comes
 * from HEAD. Optional files that answer 404 are left out.
 */
export async function manifestFromBaseUrl(
  baseUrl: string,
  fetchFn: FetchFn,
  options: ManifestFromUrlOptions = {},
): Promise<Manifest> {
  const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const files: ManifestFile[] = [];
  const urlOf = (path: string) => new URL(path, base).href;
  // The family first: it says which graphs the export has (no vae_encoder for SDXL-Lightning).
  const familyId =
    options.family ??
    recogniseFamily({
      schedulerConfig: await fetchOptionalJson(
        urlOf(FAMILY_CONFIG_FILES.schedulerConfig),
        fetchFn,
        options.signal,
      ),
      modelIndex: await fetchOptionalJson(
        urlOf(FAMILY_CONFIG_FILES.modelIndex),
        fetchFn,
        options.signal,
      ),
    }).id;
  const family = familyOf(familyId);

  for (const { path, optional } of LAYOUT_TOKENIZER_FILES) {
    const url = urlOf(path);
    const bytes = await remoteFileSize(path, url, fetchFn, options.signal);
    if (bytes === null) {
      if (optional) continue;
      throw new WeightFileError(`${path}: ${url} does not exist (HTTP 404)`);
    }
    files.push({ path, url, bytes, role: 'tokenizer', ...(optional ? { optional } : {}) });
  }

  const familyGraphs: readonly string[] = [...family.graphs.required, ...family.graphs.optional];
  for (const { graph, path, optional } of LAYOUT_GRAPHS) {
    if (!familyGraphs.includes(graph)) continue;
    const url = urlOf(path);
    // A graph with external data is small (its weights live elsewhere); a big one holds its
    // weights inline (exporters only split past 2 GB). Reading a 1.4 GB text_encoder_2 just to
    // find no external data would download it twice: size it with HEAD instead.
    const size = await remoteFileSize(path, url, fetchFn, options.signal);
    if (size === null) {
      if (optional) continue;
      throw new WeightFileError(`${path}: ${url} does not exist (HTTP 404)`);
    }
    if (size > INLINE_GRAPH_BYTES) {
      files.push({ path, url, bytes: size, role: 'graph', graph });
      continue;
    }
    const model = await fetchGraph(path, url, fetchFn, options.signal, optional);
    if (!model) continue;
    files.push({ path, url, bytes: model.byteLength, role: 'graph', graph });
    let locations: string[];
    try {
      locations = externalDataFiles(model);
    } catch (error) {
      throw new WeightFileError(`${path}: ${errorMessage(error)}`);
    }
    // Refused before any weight is fetched: operators no backend of this app can run.
    const refusal = operatorRefusal(graph, model, 'any');
    if (refusal) throw new WeightFileError(`${path}: ${refusal}`);
    for (const location of locations) {
      const dataPath = directoryOf(path) + location;
      if (!isSafeRelativePath(dataPath)) {
        throw new WeightFileError(`${path} names external data outside its folder: ${location}`);
      }
      const dataUrl = urlOf(dataPath);
      const bytes = await remoteFileSize(dataPath, dataUrl, fetchFn, options.signal);
      if (bytes === null) {
        throw new WeightFileError(
          `${dataPath} (external data of ${path}) is missing at ${dataUrl}`,
        );
      }
      files.push({ path: dataPath, url: dataUrl, bytes, role: 'external-data', graph });
    }
  }

  // The build's own TAESDXL weights (live-mode previews), when it ships them.
  const taesdUrl = urlOf(MODEL_FILES.taesd);
  const taesdBytes = await remoteFileSize(MODEL_FILES.taesd, taesdUrl, fetchFn, options.signal);
  if (taesdBytes !== null) {
    files.push({
      path: MODEL_FILES.taesd,
      url: taesdUrl,
      bytes: taesdBytes,
      role: 'weights',
      optional: true,
    });
  }

  return parseManifest({
    id: options.id ?? urlId(base.href),
    revision: options.revision ?? 'unknown',
    displayName: options.displayName ?? base.href,
    baseUrl: base.href,
    files,
    family: familyId,
  });
}

/**
 * A small JSON file (a diffusers config), or null when it is absent, unreadable or not JSON:
 * it only helps recognise the model family, so nothing about it fails a plan.
 */
async function fetchOptionalJson(
  url: string,
  fetchFn: FetchFn,
  signal: AbortSignal | undefined,
): Promise<unknown> {
  try {
    const response = await fetchFn(url, { credentials: 'omit', signal });
    if (!response.ok || isHtmlResponse(response)) {
      void response.body?.cancel().catch(() => {});
      return null;
    }
    return (await response.json()) as unknown;
  } catch {
    if (signal?.aborted) throw signal.reason;
    return null;
  }
}

/** The whole graph file, or null when an optional graph answers 404. */
async function fetchGraph(
  path: string,
  url: string,
  fetchFn: FetchFn,
  signal: AbortSignal | undefined,
  optional: boolean,
): Promise<Uint8Array | null> {
  let response: Response;
  try {
    response = await fetchFn(url, { credentials: 'omit', signal });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw networkError(path, url, error);
  }
  if (optional && (response.status === 404 || response.status === 410)) {
    void response.body?.cancel().catch(() => {});
    return null;
  }
  if (!response.ok) throw statusError(path, url, response);
  if (isHtmlResponse(response)) throw htmlPageError(path, url);
  return new Uint8Array(await response.arrayBuffer());
}

/** The graphs a "keep as fp16" copy converts; the VAEs stay fp32 (SDXL's VAE overflows in fp16). */
const FLOAT16_GRAPHS: readonly ManifestGraph[] = ['textEncoder', 'textEncoder2', 'unet'];

/**
 * The same fp32 export, kept as fp16: its text encoders and UNet (graphs and external data)
 * marked `storeAs: 'fp16'`, under its own id so it is stored beside (not over) an fp32 copy.
 */
export function storedAsFp16(manifest: Manifest): Manifest {
  return {
    ...manifest,
    id: `${manifest.id}-fp16`,
    displayName: `${manifest.displayName} (kept as fp16)`,
    files: manifest.files.map((file) =>
      file.graph && FLOAT16_GRAPHS.includes(file.graph) && file.role !== 'tokenizer'
        ? { ...file, storeAs: 'fp16' as const }
        : file,
    ),
  };
}
