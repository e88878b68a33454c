/**
 * Node command-line runner of the browser pipeline (onnxruntime-web's wasm backend), for
 * scripting and as the reference the browser tests compare against.
 *
 *   cli tokenize --model DIR "some text"
 *   cli generate --model DIR --prompt "..." --seed N --steps K [--width W --height H] --out FILE.png
 *       [--family sdxl-turbo|sdxl-lightning]  (default: recognised from the export's config files)
 *       [--image INPUT.png --strength S]    (image-to-image)  [--noise torch-cpu|mulberry32]
 *       [--decoder vae|taesd]                (taesd: TAESDXL, the live-preview decoder)
 *   cli noise --seed N --shape 1,4,64,64 [--draws K]     (see noise-command.ts)
 *   cli convert --model DIR --out DIR [--io fp32]   (fp32 export to fp16: convert-model.ts)
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MODEL_FAMILIES, isFamilyId, type FamilyId } from '../pipeline/families/registry.ts';
import { loadSdxlModel, loadTokenizers } from '../pipeline/model-loader.ts';
import {
  TextToImagePipeline,
  validateParams,
  type InitImage,
  type StageTimings,
} from '../pipeline/text-to-image.ts';
import { DEFAULT_STRENGTH } from '../pipeline/image-to-image.ts';
import { directorySource, nodeSessionFactory } from './node-model.ts';
import { readPngImage } from './png-image.ts';
import { encodePngWithParameters } from '../pipeline/png-export.ts';
import { modelNameFromLocation } from '../pipeline/png-parameters.ts';
import { CONVERT_USAGE, convertCommand } from './convert-model.ts';
import { NOISE_USAGE, noiseCommand } from './noise-command.ts';
import {
  DEFAULT_NOISE_GENERATOR,
  NOISE_GENERATORS,
  isNoiseGeneratorName,
} from '../pipeline/noise/noise-generators.ts';

const USAGE = `usage:
  cli tokenize --model DIR "some text"
  cli generate --model DIR --prompt TEXT --seed N --steps K [--width W] [--height H] --out FILE.png
               [--image INPUT.png [--strength S]]   image-to-image (strength 0..1, default ${DEFAULT_STRENGTH})
               [--noise ${NOISE_GENERATORS.join('|')}]   seeded generator (default ${DEFAULT_NOISE_GENERATOR})
               [--decoder vae|taesd]   the full VAE (default) or TAESDXL (needs taesdxl/ in DIR)
               [--family sdxl-turbo|sdxl-lightning]   default: from DIR's scheduler config; steps
               and size default to the family's (Turbo 1 step 512×512, Lightning 4 at 1024×1024)
  ${NOISE_USAGE}
  ${CONVERT_USAGE}   fp32 export to fp16 (VAEs kept fp32)`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function integerOption(value: string | undefined, name: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) fail(`--${name} is required`);
    return fallback;
  }
  const n = Number(value);
  if (!Number.isInteger(n)) fail(`--${name} must be an integer, got ${JSON.stringify(value)}`);
  return n;
}

function numberOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    fail(`--${name} must be a number, got ${JSON.stringify(value)}`);
  return n;
}

async function tokenize(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { model: { type: 'string' } },
    allowPositionals: true,
  });
  if (!values.model) fail('--model is required');
  if (positionals.length !== 1) fail('tokenize takes exactly one text argument');
  const { tokenizer, tokenizer2 } = await loadTokenizers(directorySource(values.model));
  const text = positionals[0] as string;
  process.stdout.write(
    `${JSON.stringify({ input_ids: tokenizer.encode(text), input_ids_2: tokenizer2.encode(text) })}\n`,
  );
}

async function generate(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      prompt: { type: 'string' },
      seed: { type: 'string' },
      steps: { type: 'string' },
      width: { type: 'string' },
      height: { type: 'string' },
      out: { type: 'string' },
      image: { type: 'string' },
      strength: { type: 'string' },
      noise: { type: 'string' },
      decoder: { type: 'string', default: 'vae' },
      family: { type: 'string' },
    },
  });
  if (values.family !== undefined && !isFamilyId(values.family)) {
    fail(`--family must be one of ${MODEL_FAMILIES.map((f) => f.id).join(', ')}`);
  }
  const decoder = values.decoder;
  if (decoder !== 'vae' && decoder !== 'taesd')
    fail(`--decoder must be vae or taesd, got ${decoder}`);
  if (!values.model) fail('--model is required');
  const noise = values.noise ?? DEFAULT_NOISE_GENERATOR;
  if (!isNoiseGeneratorName(noise)) fail(`--noise must be one of ${NOISE_GENERATORS.join(', ')}`);
  if (values.prompt === undefined) fail('--prompt is required');
  if (!values.out) fail('--out is required');
  // Steps and size default to the model family's (recognised from the export, or --family).
  const loadStart = performance.now();
  const model = await loadSdxlModel(directorySource(values.model), nodeSessionFactory, undefined, {
    ...(values.family !== undefined ? { family: values.family as FamilyId } : {}),
  });
  const loadMs = performance.now() - loadStart;
  const { family } = model;
  const params = {
    prompt: values.prompt,
    seed: integerOption(values.seed, 'seed'),
    noise,
    steps: integerOption(values.steps, 'steps', family.steps.default),
    width: integerOption(values.width, 'width', family.sizes.default.width),
    height: integerOption(values.height, 'height', family.sizes.default.height),
    ...(values.image !== undefined
      ? { strength: numberOption(values.strength, 'strength', DEFAULT_STRENGTH) }
      : {}),
  };
  if (values.strength !== undefined && values.image === undefined) {
    fail('--strength needs --image');
  }
  // Image-to-image: the PNG at its own size; the pipeline cover-crops and resizes it.
  const init: InitImage | undefined =
    values.image !== undefined ? { image: await readPngImage(values.image) } : undefined;

  try {
    validateParams(params); // the pipeline's own ranges first, in its own words
    if (!family.steps.choices.includes(params.steps)) {
      throw new Error(
        `--steps: ${family.displayName} runs ${family.steps.choices.join(', ')} steps, not ${params.steps}`,
      );
    }
    if (decoder === 'taesd' && !model.taesdDecoder) {
      throw new Error(`--decoder taesd: the model has no TAESDXL weights (${model.taesdMissing})`);
    }
    const pipeline = new TextToImagePipeline(model, family.denoise);
    const image = await pipeline.generate(params, { decoder }, init);
    // The same text chunks as the app's Download PNG (prompt, seed, steps, size, model).
    const modelDir = resolve(values.model);
    const png = encodePngWithParameters(
      { width: image.width, height: image.height, data: image.pixels },
      { ...params, model: modelNameFromLocation(modelDir), modelUrl: values.model },
    );
    await writeFile(values.out, png);
    process.stdout.write(
      `${JSON.stringify({ out: values.out, backend: 'wasm', dtype: model.dtype, decoder: image.decoder, params, ...(values.image ? { image: values.image } : {}), loadMs, timings: image.timings })}\n`,
    );
    // The same stages the app shows under the image, for a person reading the terminal.
    process.stderr.write(`${stageLine(image.timings)}\n`);
  } finally {
    await model.release();
  }
}

function stageLine(t: StageTimings): string {
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const parts = [
    `tokenize ${ms(t.tokenize)}`,
    `text encoders ${t.promptCached ? 'cached' : ms(t.textEncoders)}`,
    ...(t.vaeEncode !== undefined ? [`vae encode ${ms(t.vaeEncode)}`] : []),
    ...t.unetSteps.map((v, i) => `unet step ${i + 1} ${ms(v)}`),
    `vae decode ${ms(t.vaeDecode)}`,
    ...(t.readback !== undefined ? [`readback ${ms(t.readback)}`] : []),
    `to pixels ${ms(t.toPixels)}`,
    `total ${ms(t.total)}`,
  ];
  return `stages: ${parts.join(' · ')}`;
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  switch (command) {
    case 'tokenize':
      return tokenize(rest);
    case 'generate':
      return generate(rest);
    case 'noise':
      process.stdout.write(noiseCommand(rest));
      return;
    case 'convert':
      return convertCommand(rest);
    default:
      fail(command ? `unknown command ${command}` : 'no command given');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
