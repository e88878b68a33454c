/**
 * The browser side of `npm run scale`'s bare load (bench/scale.ts bundles it with esbuild): the
 * same graphs from the same served bytes, loaded by onnxruntime-web alone, without the app.
 *
 * Each graph file is fetched into one buffer and each external data file as a Blob (what the
 * app hands the runtime too), then `InferenceSession.create` runs with the WebGPU EP and the
 * app's session options. Only what the runtime cannot take otherwise is done as the app does
 * it: an external data file over 2 GiB is passed as ≤ 2 GiB slices (src/storage/reshard.ts), and
 * Blob streams are kept referenced (src/pipeline/ort/blob-read-tracker.ts; without that the
 * `/jspi` build's reads can hang). A large inline graph is passed as it is.
 */
import { BlobReadTracker } from '../src/pipeline/ort/blob-read-tracker.ts';
import { DEFAULT_SHARD_LIMIT, reshardExternalData } from '../src/storage/reshard.ts';
import { FIXED_DIMENSIONS, HAS_JSPI, ortModule } from '../src/worker/ort-runtime.ts';

export interface BareGraph {
  /** The graph's folder, e.g. 'unet' (its file is `${dir}/model.onnx`). */
  dir: string;
  /** Its external data files, by the name the graph uses. */
  externalData: string[];
}

export interface BareGraphResult {
  dir: string;
  graphBytes: number;
  externalBytes: number;
  fetchMs: number;
  createMs: number;
}

export interface BareLoadResult {
  build: 'jspi' | 'webgpu';
  totalMs: number;
  graphs: BareGraphResult[];
}

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

/** Creates every graph's session (all held at once, as the app holds them), then releases them. */
async function bareLoad(baseUrl: string, graphs: BareGraph[]): Promise<BareLoadResult> {
  const ort = await ortModule();
  const started = performance.now();
  const results: BareGraphResult[] = [];
  const sessions: Array<{ release(): Promise<void> }> = [];
  const trackers: BlobReadTracker[] = [];
  try {
    for (const graph of graphs) {
      const fetchStart = performance.now();
      const model = new Uint8Array(
        await (await fetchOk(`${baseUrl}${graph.dir}/model.onnx`)).arrayBuffer(),
      );
      const blobs = new Map<string, Blob>();
      for (const name of graph.externalData) {
        blobs.set(name, await (await fetchOk(`${baseUrl}${graph.dir}/${name}`)).blob());
      }
      const fetchMs = performance.now() - fetchStart;
      const sizes = new Map([...blobs].map(([name, blob]) => [name, blob.size]));
      const tooLarge = [...sizes.values()].some((bytes) => bytes > DEFAULT_SHARD_LIMIT);
      const plan = tooLarge ? reshardExternalData(model, sizes) : null;
      const tracker = new BlobReadTracker();
      trackers.push(tracker);
      const externalData = plan
        ? plan.files.map((s) => ({
            path: s.path,
            data: tracker.wrap(blobs.get(s.source)!.slice(s.start, s.end)),
          }))
        : [...blobs].map(([path, blob]) => ({ path, data: tracker.wrap(blob) }));
      const createStart = performance.now();
      sessions.push(
        await ort.InferenceSession.create(plan ? plan.model : model, {
          executionProviders: ['webgpu'],
          externalData,
          graphOptimizationLevel: 'all',
          freeDimensionOverrides: FIXED_DIMENSIONS,
          preferredOutputLocation: 'gpu-buffer',
        }),
      );
      results.push({
        dir: graph.dir,
        graphBytes: model.byteLength,
        externalBytes: [...sizes.values()].reduce((a, b) => a + b, 0),
        fetchMs,
        createMs: performance.now() - createStart,
      });
      tracker.release();
    }
    return {
      build: HAS_JSPI ? 'jspi' : 'webgpu',
      totalMs: performance.now() - started,
      graphs: results,
    };
  } finally {
    for (const tracker of trackers) tracker.release();
    for (const session of sessions) await session.release();
  }
}

Object.assign(globalThis, { bareLoad, bareReady: true });
