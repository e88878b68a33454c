/**
 * SDXL-Lightning as the second model family, on its tiny test sets (scripts/test-model, fp32
 * and fp16-with-float32-I/O) in Node with onnxruntime-web's wasm backend: the family is
 * recognised from the export's own config files, the UNet's three external-data shards reach
 * the runtime as three files, there is no VAE encoder, and 4 Euler-discrete steps make an image.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertModelDirectory } from './convert-model.ts';
import { writeModelSet, LIGHTNING_UNET_SHARDS } from '../../scripts/test-model/write-model-set.ts';
import { SDXL_LIGHTNING } from '../pipeline/families/sdxl-lightning.ts';
import { SDXL_TURBO } from '../pipeline/families/sdxl-turbo.ts';
import { loadSdxlModel, type LoadedModel, type SessionFactory } from '../pipeline/model-loader.ts';
import { TextToImagePipeline, type TextToImageParams } from '../pipeline/text-to-image.ts';
import { directorySource, nodeSessionFactory } from './node-model.ts';

const root = mkdtempSync(path.join(tmpdir(), 'model-family-'));
const dirs = { fp32: path.join(root, 'fp32'), fp16: path.join(root, 'fp16') };
const models: Partial<Record<'fp32' | 'fp16', LoadedModel>> = {};
/** The external data files each graph's session was created with, per set. */
const externalFiles: Record<string, Record<string, string[]>> = { fp32: {}, fp16: {} };
/** Files the loader asked the source for. */
const reads: Record<string, string[]> = { fp32: [], fp16: [] };

function recording(set: 'fp32' | 'fp16'): SessionFactory {
  return (graph, model, externalData) => {
    externalFiles[set]![graph] = externalData.map((f) => f.path);
    return nodeSessionFactory(graph, model, externalData);
  };
}

function recordingSource(set: 'fp32' | 'fp16') {
  const source = directorySource(dirs[set]);
  return {
    ...source,
    readText: (file: string) => (reads[set]!.push(file), source.readText(file)),
    readBytes: (file: string, onProgress?: (loaded: number, total: number) => void) => (
      reads[set]!.push(file),
      source.readBytes(file, onProgress)
    ),
  };
}

beforeAll(async () => {
  writeModelSet(dirs.fp32, 'fp32', SDXL_LIGHTNING);
  // As make-test-model --family sdxl-lightning --dtype fp16 does, and as the web build was made.
  await convertModelDirectory(dirs.fp32, dirs.fp16, { keepFloat32Io: true });
  // One at a time: onnxruntime-web 1.30 cannot create sessions with external data in parallel.
  models.fp32 = await loadSdxlModel(recordingSource('fp32'), recording('fp32'));
  models.fp16 = await loadSdxlModel(recordingSource('fp16'), recording('fp16'));
}, 120_000);

async function image(set: 'fp32' | 'fp16', overrides: Partial<TextToImageParams> = {}) {
  const model = models[set];
  if (!model) throw new Error('model not loaded');
  const params = { prompt: 'a photo of a cat', seed: 42, steps: 4, width: 256, height: 256 };
  return new TextToImagePipeline(model, model.family.denoise).generate({ ...params, ...overrides });
}

function meanAbsDiff(a: Uint8ClampedArray, b: Uint8ClampedArray): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] as number) - (b[i] as number));
  return sum / a.length;
}

describe('SDXL-Lightning tiny sets in Node', () => {
  it('are recognised as SDXL-Lightning from scheduler_config.json and model_index.json', () => {
    expect(models.fp32?.family).toBe(SDXL_LIGHTNING);
    expect(models.fp16?.family).toBe(SDXL_LIGHTNING);
    expect(reads.fp32).toContain('scheduler/scheduler_config.json');
    expect(reads.fp32).toContain('model_index.json');
  });

  it('load the UNet external data as three shard files', () => {
    expect(externalFiles.fp32!['unet']).toEqual(LIGHTNING_UNET_SHARDS);
    expect(externalFiles.fp16!['unet']).toEqual(LIGHTNING_UNET_SHARDS);
  });

  it('have no VAE encoder, and the loader does not even ask for one', () => {
    expect(models.fp32?.vaeEncoder).toBeUndefined();
    expect(models.fp32?.vaeEncoderMissing).toMatch(/no VAE encoder/);
    expect(reads.fp32).not.toContain('vae_encoder/model.onnx');
  });

  it('the fp16 set is fp16 graphs with float32 inputs and outputs, fed and read as such', () => {
    const unet = models.fp16!.unet;
    expect(models.fp16?.dtype).toBe('float16'); // the weights' type
    for (const name of ['sample', 'encoder_hidden_states', 'text_embeds', 'time_ids']) {
      expect(unet.inputs.find((i) => i.name === name)?.type, name).toBe('float32');
    }
    expect(unet.outputs[0]?.type).toBe('float32');
    expect(models.fp16!.textEncoder2.outputs.map((o) => o.type)).toEqual(
      models.fp16!.textEncoder2.outputs.map(() => 'float32'),
    );
  });

  it('makes a deterministic 4-step image that depends on prompt and seed, close in fp16 and fp32', async () => {
    const a = await image('fp32');
    expect(a.timings.unetSteps).toHaveLength(4);
    expect(meanAbsDiff(a.pixels, (await image('fp32')).pixels)).toBe(0);
    expect(meanAbsDiff(a.pixels, (await image('fp32', { seed: 43 })).pixels)).toBeGreaterThan(5);
    const fp16 = await image('fp16');
    const diff = meanAbsDiff(a.pixels, fp16.pixels);
    console.log(`Lightning fp16 (float32 I/O) vs fp32, 4 steps: mean abs diff ${diff.toFixed(3)}`);
    expect(diff).toBeLessThan(2);
  }, 120_000);

  it('samples with Euler discrete: the same set with Turbo’s Euler ancestral gives another image', async () => {
    const model = models.fp32!;
    const params = { prompt: 'a photo of a cat', seed: 42, steps: 4, width: 256, height: 256 };
    const discrete = await new TextToImagePipeline(model, SDXL_LIGHTNING.denoise).generate(params);
    const ancestral = await new TextToImagePipeline(model, SDXL_TURBO.denoise).generate(params);
    expect(meanAbsDiff(discrete.pixels, ancestral.pixels)).toBeGreaterThan(1);
  }, 120_000);

  it('the Node runner takes the family from the export and refuses other step counts', () => {
    const run = (steps: string) =>
      execFileSync(
        'npx',
        ['tsx', 'src/cli/main.ts', 'generate', '--model', dirs.fp32, '--prompt', 'a cat',
          '--seed', '1', '--steps', steps, '--width', '128', '--height', '128',
          '--out', path.join(root, `cli-${steps}.png`)],
        { cwd: path.resolve(import.meta.dirname, '../..'), stdio: 'pipe', encoding: 'utf8' },
      ); // prettier-ignore
    expect(JSON.parse(run('4'))).toMatchObject({ params: { steps: 4 } });
    expect(() => run('2')).toThrow(/SDXL-Lightning \(4-step\) runs 4 steps, not 2/);
  }, 120_000);
});
