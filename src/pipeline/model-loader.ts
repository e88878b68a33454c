import type { GraphSession } from './graph-session.ts';
import { FAMILY_CONFIG_FILES, MODEL_FILES, type GraphName } from './model-layout.ts';
import { checkGraphInputs } from './graph-contract.ts';
import { concatGraph, eulerStepGraph, pixelsGraph, type FloatDtype } from './onnx/helper-graphs.ts';
import { decodeModel, externalDataFiles, graphInputs, type GraphInput } from './onnx/inspect.ts';
import type { ModelFamily } from './families/family.ts';
import { familyOf, recogniseFamily, type FamilyId } from './families/registry.ts';
import { LoadWatchdog } from './load-watchdog.ts';
import { modelUsesFloat16 } from './onnx/dtypes.ts';
import { BlobReadTracker } from './ort/blob-read-tracker.ts';
import {
  blobRangeReader,
  bytesRangeReader,
  externalDataBlob,
  moveInitializersToExternal,
} from './onnx/inline-to-external.ts';
import { ModelFormatError } from './tensors.ts';
import type { PipelineHelpers, SdxlModel } from './text-to-image.ts';
import { ClipTokenizer } from './tokenizer/clip-tokenizer.ts';
import { readSafetensors } from './taesd/safetensors.ts';
import { taesdDecoderGraph } from './taesd/taesd-graph.ts';

/** Where model files come from: a URL (browser fetch) or a directory (Node). */
export interface ModelSource {
  /** Full location of a file, for messages. */
  locate(path: string): string;
  readText(path: string): Promise<string>;
  readBytes(
    path: string,
    onProgress?: (loadedBytes: number, totalBytes: number) => void,
  ): Promise<Uint8Array>;
  /**
   * The file as a Blob, where the source has one (a model stored in IndexedDB: disk-backed
   * chunks). External data is read this way when offered: it can be larger than one
   * ArrayBuffer, and onnxruntime-web reads a Blob itself.
   */
  readBlob?(
    path: string,
    onProgress?: (loadedBytes: number, totalBytes: number) => void,
  ): Promise<Blob>;
  /** The file's size when the source knows it without reading the file (a stored manifest). */
  sizeOf?(path: string): number | undefined;
}

export interface ExternalDataFile {
  /** The name the graph refers to (its external-data `location`). */
  path: string;
  /** The bytes, or a Blob (onnxruntime-web's externalData accepts both). */
  data: Uint8Array | Blob;
}

/** The pipeline's own small graphs (see onnx/helper-graphs.ts). */
export type HelperGraphName =
  | 'concat'
  | 'stepToUnet'
  | 'stepToVae'
  | 'pixels'
  | 'taesdPixels'
  /** TAESDXL's decoder, built here from its safetensors weights (taesd/taesd-graph.ts). */
  | 'taesdDecoder';

/** Creates a runnable session for a graph; the host decides the runtime and EP. */
export type SessionFactory = (
  graph: GraphName | HelperGraphName,
  model: Uint8Array,
  externalData: ExternalDataFile[],
) => Promise<GraphSession>;

export type LoadProgress = (file: string, loadedBytes: number, totalBytes: number) => void;

export type ModelDtype = 'float32' | 'float16';

export interface LoadedModel extends SdxlModel {
  /** The UNet's weights' type (an fp16 graph with float32 inputs and outputs is float16). */
  dtype: ModelDtype;
  /** Its model family: given by the caller, or recognised from the export's config files. */
  family: ModelFamily;
  /** Why there is no `vaeEncoder` (image-to-image unavailable); null when there is one. */
  vaeEncoderMissing?: string | null;
  /** Why there is no `taesdDecoder` (no live previews); null when there is one. */
  taesdMissing?: string | null;
  release(): Promise<void>;
}

const GRAPH_FILES: Record<GraphName, string> = {
  textEncoder: MODEL_FILES.textEncoder,
  textEncoder2: MODEL_FILES.textEncoder2,
  unet: MODEL_FILES.unet,
  vaeDecoder: MODEL_FILES.vaeDecoder,
  vaeEncoder: MODEL_FILES.vaeEncoder,
};

const DEFAULT_PAD = { tokenizer: '<|endoftext|>', tokenizer2: '!' };

/** special_tokens_map.json writes a token as "text" or as { "content": "text", ... }. */
function padTokenOf(specialTokens: unknown, fallback: string): string {
  if (typeof specialTokens !== 'object' || specialTokens === null) return fallback;
  const pad = (specialTokens as Record<string, unknown>)['pad_token'];
  if (typeof pad === 'string') return pad;
  if (
    typeof pad === 'object' &&
    pad !== null &&
    typeof (pad as { content?: unknown }).content === 'string'
  ) {
    return (pad as { content: string }).content;
  }
  return fallback;
}

async function readJson(source: ModelSource, path: string): Promise<unknown> {
  const text = await source.readText(path);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ModelFormatError(`${source.locate(path)} is not valid JSON`);
  }
}

async function readOptionalJson(source: ModelSource, path: string): Promise<unknown> {
  try {
    return await readJson(source, path);
  } catch (error) {
    if (error instanceof ModelFormatError) throw error;
    return null; // absent: use the defaults diffusers ships
  }
}

async function loadTokenizer(
  source: ModelSource,
  vocabPath: string,
  mergesPath: string,
  specialPath: string,
  defaultPad: string,
): Promise<ClipTokenizer> {
  const [vocab, merges, special] = await Promise.all([
    readJson(source, vocabPath),
    source.readText(mergesPath),
    readOptionalJson(source, specialPath),
  ]);
  if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) {
    throw new ModelFormatError(`${source.locate(vocabPath)} is not a token -> id map`);
  }
  return new ClipTokenizer({
    vocab: vocab as Record<string, number>,
    merges,
    padToken: padTokenOf(special, defaultPad),
  });
}

export async function loadTokenizers(
  source: ModelSource,
): Promise<{ tokenizer: ClipTokenizer; tokenizer2: ClipTokenizer }> {
  const [tokenizer, tokenizer2] = await Promise.all([
    loadTokenizer(
      source,
      MODEL_FILES.tokenizerVocab,
      MODEL_FILES.tokenizerMerges,
      MODEL_FILES.tokenizerSpecialTokens,
      DEFAULT_PAD.tokenizer,
    ),
    loadTokenizer(
      source,
      MODEL_FILES.tokenizer2Vocab,
      MODEL_FILES.tokenizer2Merges,
      MODEL_FILES.tokenizer2SpecialTokens,
      DEFAULT_PAD.tokenizer2,
    ),
  ]);
  return { tokenizer, tokenizer2 };
}

function directoryOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash + 1);
}

/** Graphs larger than this have their inline initializers moved to a Blob at load. */
export const MOVE_INLINE_ABOVE_BYTES = 256 * 2 ** 20;
/** The external data name the moved initializers get (not a file of the model). */
export const INLINE_WEIGHTS_LOCATION = 'inline-weights.onnx_data';

export interface LoadOptions {
  watchdog?: LoadWatchdog;
  /** The model family, when known (a hosted manifest, the user's choice); else recognised. */
  family?: FamilyId;
  /** Graph size above which inline initializers move to external data (tests lower it). */
  moveInlineAbove?: number;
}

/**
 * A graph file: as bytes when it is small, as a Blob when it may be large and the source has
 * Blobs (a stored model's disk-backed chunks, or a download gathered piece by piece), so that a
 * 2 GB graph is never one buffer. Small stored graphs are read as bytes, which checks them.
 */
async function readGraph(
  source: ModelSource,
  path: string,
  moveInlineAbove: number,
  reading: (file: string) => (loaded: number, total: number) => void,
): Promise<Uint8Array | Blob> {
  const knownSize = source.sizeOf?.(path);
  if (!source.readBlob || (knownSize !== undefined && knownSize <= moveInlineAbove)) {
    return source.readBytes(path, reading(path));
  }
  return source.readBlob(path, reading(path));
}

/** Reads one graph and the external data files it names, then creates its session. */
async function loadGraph(
  source: ModelSource,
  createSession: SessionFactory,
  graph: GraphName,
  onProgress: LoadProgress,
  watchdog: LoadWatchdog,
  moveInlineAbove: number,
  family: ModelFamily,
  preloaded?: Uint8Array,
  onGraphBytes?: (model: Uint8Array) => void,
): Promise<GraphSession> {
  const modelPath = GRAPH_FILES[graph];
  const { model, externalData } = await watchdog.watch(graph, 'reading', async (stage) => {
    let done = 0;
    const reading = (file: string) => (loaded: number, total: number) => {
      onProgress(file, loaded, total);
      stage.progress(done + loaded, 0, true);
    };
    const stored = preloaded ?? (await readGraph(source, modelPath, moveInlineAbove, reading));
    const size = stored instanceof Blob ? stored.size : stored.byteLength;
    done += size;
    // A large graph with its weights inline would be copied whole into the wasm heap: its
    // initializers become external data the runtime reads range by range (see
    // inline-to-external.ts). From a Blob, only the graph's structure is read; the weights
    // stay where they are stored, as slices of that Blob.
    let model: Uint8Array;
    let inlineWeights: ExternalDataFile | null = null;
    if (size > moveInlineAbove) {
      const reader = stored instanceof Blob ? blobRangeReader(stored) : bytesRangeReader(stored);
      let moved;
      try {
        moved = await moveInitializersToExternal(reader, INLINE_WEIGHTS_LOCATION);
      } catch (error) {
        // The browser failing to read the Blob is not the file's fault: same error, named file.
        if (error instanceof DOMException) {
          throw new DOMException(`${source.locate(modelPath)}: ${error.message}`, error.name);
        }
        throw new ModelFormatError(`${source.locate(modelPath)}: ${(error as Error).message}`);
      }
      model = moved.model;
      if (moved.movedTensors > 0) {
        inlineWeights = {
          path: INLINE_WEIGHTS_LOCATION,
          data: externalDataBlob(stored, moved.dataParts),
        };
      }
    } else {
      model = stored instanceof Blob ? new Uint8Array(await stored.arrayBuffer()) : stored;
    }
    let locations: string[];
    let inputs: GraphInput[];
    try {
      const decoded = decodeModel(model);
      locations = externalDataFiles(decoded).filter((l) => l !== INLINE_WEIGHTS_LOCATION);
      inputs = graphInputs(decoded);
    } catch (error) {
      throw new ModelFormatError(`${source.locate(modelPath)}: ${(error as Error).message}`);
    }
    // Before any external data is read or any session created: the wrong graph is refused here.
    checkGraphInputs(graph, source.locate(modelPath), inputs, family.graphs.contract);
    onGraphBytes?.(model);
    const externalData: ExternalDataFile[] = [];
    for (const location of locations) {
      if (location.includes('..') || location.startsWith('/')) {
        throw new ModelFormatError(
          `${source.locate(modelPath)} names external data outside its folder: ${location}`,
        );
      }
      const dataPath = directoryOf(modelPath) + location;
      const data = source.readBlob
        ? await source.readBlob(dataPath, reading(dataPath))
        : await source.readBytes(dataPath, reading(dataPath));
      done += data instanceof Blob ? 0 : data.byteLength;
      externalData.push({ path: location, data });
    }
    if (inlineWeights) externalData.push(inlineWeights);
    return { model, externalData };
  });
  return watchdog.watch(graph, 'creating-session', async (stage) => {
    // Blob external data is read by the runtime itself: keep its streams referenced (see
    // BlobReadTracker) and count what it reads as this stage's progress.
    const blobBytes = externalData.reduce(
      (n, f) => n + (f.data instanceof Blob ? f.data.size : 0),
      0,
    );
    const tracker = new BlobReadTracker(({ bytesRead, pendingReads }) =>
      stage.progress(bytesRead, blobBytes, pendingReads > 0),
    );
    const tracked = externalData.map((f) =>
      f.data instanceof Blob ? { path: f.path, data: tracker.wrap(f.data) } : f,
    );
    try {
      return await createSession(graph, model, tracked);
    } finally {
      tracker.release();
    }
  });
}

/** The export's family, from its scheduler_config.json and model_index.json (registry.ts). */
export async function detectFamily(source: ModelSource): Promise<ModelFamily> {
  const [schedulerConfig, modelIndex] = await Promise.all([
    readOptionalJson(source, FAMILY_CONFIG_FILES.schedulerConfig).catch(() => null),
    readOptionalJson(source, FAMILY_CONFIG_FILES.modelIndex).catch(() => null),
  ]);
  return recogniseFamily({ schedulerConfig, modelIndex });
}

/**
 * Loads tokenizers and the family's text-to-image graphs, then its optional graphs (the
 * vae_encoder), one graph at a time so that only one graph's bytes are held in JS memory at once.
 */
export async function loadSdxlModel(
  source: ModelSource,
  createSession: SessionFactory,
  onProgress: LoadProgress = () => {},
  options: LoadOptions = {},
): Promise<LoadedModel> {
  const watchdog = options.watchdog ?? new LoadWatchdog();
  const moveInlineAbove = options.moveInlineAbove ?? MOVE_INLINE_ABOVE_BYTES;
  const family = options.family ? familyOf(options.family) : await detectFamily(source);
  const { tokenizer, tokenizer2 } = await loadTokenizers(source);
  const sessions: GraphSession[] = [];
  let unetFloat16 = false;
  const load = async (graph: GraphName) => {
    const session = await loadGraph(
      source,
      createSession,
      graph,
      onProgress,
      watchdog,
      moveInlineAbove,
      family,
      undefined,
      graph === 'unet' ? (bytes) => (unetFloat16 = modelUsesFloat16(bytes)) : undefined,
    );
    sessions.push(session);
    return session;
  };
  try {
    const textEncoder = await load('textEncoder');
    const textEncoder2 = await load('textEncoder2');
    const unet = await load('unet');
    const vaeDecoder = await load('vaeDecoder');
    // Optional, like the optional tokenizer files: a file that cannot be read is absent (the
    // model still does text-to-image); one that is there but broken fails the load.
    let vaeEncoder: GraphSession | undefined;
    let vaeEncoderMissing: string | null = null;
    let encoderBytes: Uint8Array | null = null;
    if (family.graphs.optional.includes('vaeEncoder')) {
      try {
        encoderBytes = await source.readBytes(GRAPH_FILES.vaeEncoder, (loaded, total) =>
          onProgress(GRAPH_FILES.vaeEncoder, loaded, total),
        );
      } catch (error) {
        vaeEncoderMissing = `${source.locate(GRAPH_FILES.vaeEncoder)}: ${(error as Error).message}`;
      }
    } else {
      // Not even asked for: this family's exports have none (no request, no 404 in the log).
      vaeEncoderMissing = `${family.displayName} has no VAE encoder (text-to-image only)`;
    }
    if (encoderBytes) {
      vaeEncoder = await loadGraph(
        source,
        createSession,
        'vaeEncoder',
        onProgress,
        watchdog,
        moveInlineAbove,
        family,
        encoderBytes,
      );
      sessions.push(vaeEncoder);
    }
    // TAESDXL, optional in the same way: absent means no previews; present but broken fails.
    let taesdDecoder: GraphSession | undefined;
    let taesdMissing: string | null = null;
    let taesdBytes: Uint8Array | null = null;
    try {
      taesdBytes = await source.readBytes(MODEL_FILES.taesd, (loaded, total) =>
        onProgress(MODEL_FILES.taesd, loaded, total),
      );
    } catch (error) {
      taesdMissing = `${source.locate(MODEL_FILES.taesd)}: ${(error as Error).message}`;
    }
    if (taesdBytes) {
      const what = source.locate(MODEL_FILES.taesd);
      const graph = taesdDecoderGraph(readSafetensors(taesdBytes, what), what);
      taesdDecoder = await createSession('taesdDecoder', graph, []);
      sessions.push(taesdDecoder);
    }
    const sample = unet.inputs.find((i) => i.name === 'sample');
    if (!sample || (sample.type !== 'float32' && sample.type !== 'float16')) {
      throw new ModelFormatError(`${source.locate(GRAPH_FILES.unet)} has no float "sample" input`);
    }
    const helpers = await loadHelpers(
      { textEncoder, textEncoder2, unet, vaeDecoder, taesdDecoder },
      createSession,
      (session) => sessions.push(session),
    );
    return {
      tokenizer,
      tokenizer2,
      textEncoder,
      textEncoder2,
      unet,
      vaeDecoder,
      vaeEncoder,
      vaeEncoderMissing,
      taesdDecoder,
      taesdMissing,
      ...(helpers ? { helpers } : {}),
      // The weights' type, not the inputs': fp16 graphs may keep float32 at their edges.
      dtype: unetFloat16 ? 'float16' : sample.type,
      family,
      release: async () => {
        await Promise.all([...new Set(sessions)].map((s) => s.release()));
      },
    };
  } catch (error) {
    await Promise.allSettled(sessions.map((s) => s.release()));
    throw error;
  }
}

function floatDtype(info: { type: string } | undefined): FloatDtype | null {
  return info?.type === 'float32' || info?.type === 'float16' ? info.type : null;
}

/**
 * The helper graphs that keep tensors on the GPU between stages, when every model session can
 * keep its outputs on the device (onnxruntime-web WebGPU) and the graphs' float types line up
 * (each helper is built for the dtypes it joins). Otherwise null: the pipeline then does its
 * arithmetic on the host, as it does on the wasm backend and in Node.
 */
async function loadHelpers(
  graphs: Pick<SdxlModel, 'textEncoder' | 'textEncoder2' | 'unet' | 'vaeDecoder' | 'taesdDecoder'>,
  createSession: SessionFactory,
  keep: (session: GraphSession) => void,
): Promise<PipelineHelpers | null> {
  const { textEncoder, textEncoder2, unet, vaeDecoder, taesdDecoder } = graphs;
  const all = [
    textEncoder,
    textEncoder2,
    unet,
    vaeDecoder,
    ...(taesdDecoder ? [taesdDecoder] : []),
  ];
  if (!all.every((s) => s.runOnDevice)) return null;
  const input = (s: GraphSession, name: string) => s.inputs.find((i) => i.name === name);
  const hidden1 = floatDtype(textEncoder.outputs.find((o) => /^hidden_states\./.test(o.name)));
  const hidden2 = floatDtype(textEncoder2.outputs.find((o) => /^hidden_states\./.test(o.name)));
  const pooled = floatDtype(textEncoder2.outputs.find((o) => o.name === 'text_embeds'));
  const condition = floatDtype(input(unet, 'encoder_hidden_states'));
  const unetEmbeds = floatDtype(input(unet, 'text_embeds'));
  const sample = floatDtype(input(unet, 'sample'));
  const eps = floatDtype(unet.outputs.find((o) => o.name === 'out_sample') ?? unet.outputs[0]);
  const vaeIn = floatDtype(
    vaeDecoder.inputs.find((i) => i.name === 'latent_sample') ?? vaeDecoder.inputs[0],
  );
  const vaeOut = floatDtype(
    vaeDecoder.outputs.find((o) => o.name === 'sample') ?? vaeDecoder.outputs[0],
  );
  if (!hidden1 || !sample || !eps || !vaeIn || !vaeOut) return null;
  if (hidden1 !== hidden2 || hidden1 !== condition || pooled !== unetEmbeds) return null;
  const create = async (name: HelperGraphName, model: Uint8Array) => {
    const session = await createSession(name, model, []);
    keep(session);
    return session;
  };
  const stepToUnet = await create('stepToUnet', eulerStepGraph(eps, sample));
  const stepToVae =
    vaeIn === sample ? stepToUnet : await create('stepToVae', eulerStepGraph(eps, vaeIn));
  const pixels = await create('pixels', pixelsGraph(vaeOut));
  // TAESDXL's image is float32 whatever the model's dtype.
  const taesdPixels = !taesdDecoder
    ? undefined
    : vaeOut === 'float32'
      ? pixels
      : await create('taesdPixels', pixelsGraph('float32'));
  return {
    concat: await create('concat', concatGraph(hidden1)),
    stepToUnet,
    stepToVae,
    pixels,
    ...(taesdPixels ? { taesdPixels } : {}),
  };
}
