import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { downscaleRgba, encodePngWithParameters } from './png-export';
import {
  JSON_KEYWORD,
  PARAMETERS_KEYWORD,
  modelNameFromLocation,
  parametersText,
  pngTextChunks,
  readParametersChunk,
  type ImageParameters,
} from './png-parameters';

const PARAMS: ImageParameters = {
  prompt: 'a photo of a cat',
  seed: 42,
  noise: 'torch-cpu',
  steps: 2,
  width: 512,
  height: 768,
  model: 'tiny-fp32',
  modelUrl: 'http://127.0.0.1:4174/tiny-fp32/',
};

describe('PNG parameters text', () => {
  it('writes the A1111 "parameters" text: prompt, then Steps/Sampler/CFG/Seed/Size/Model', () => {
    expect(parametersText(PARAMS)).toBe(
      'a photo of a cat\nSteps: 2, Sampler: Euler a, CFG scale: 0, Seed: 42, Noise: torch-cpu, Size: 512x768, Model: tiny-fp32',
    );
  });

  it('adds the denoising strength for image-to-image and quotes a model name with commas', () => {
    expect(parametersText({ ...PARAMS, strength: 0.5, model: 'a, b' })).toBe(
      'a photo of a cat\nSteps: 2, Sampler: Euler a, CFG scale: 0, Seed: 42, Noise: torch-cpu, Size: 512x768, Denoising strength: 0.5, Model: "a, b"',
    );
  });

  it('keeps the prompt on one line and replaces characters Latin-1 cannot hold', () => {
    const text = parametersText({ ...PARAMS, prompt: 'café\nau lait 🐱 猫' });
    expect(text.split('\n')[0]).toBe('café au lait ? ?');
  });

  it('round-trips the JSON chunk exactly, non-Latin-1 prompt included, in ASCII', () => {
    const params = { ...PARAMS, prompt: 'café 🐱 猫 "quoted"', strength: 0.75 };
    const chunks = pngTextChunks(params);
    expect(chunks[JSON_KEYWORD]).toMatch(/^[\x20-\x7e]*$/);
    expect(JSON.parse(chunks[JSON_KEYWORD]!)).toMatchObject({ sampler: 'Euler a', cfgScale: 0 });
    expect(readParametersChunk(chunks)).toEqual(params);
  });

  it('names the noise generator; parameters without one are the first generator, mulberry32', () => {
    const legacy = { ...PARAMS, noise: 'mulberry32' as const };
    expect(parametersText(legacy)).toContain('Seed: 42, Noise: mulberry32, Size');
    expect(readParametersChunk(pngTextChunks(legacy))).toEqual(legacy);
    // What this app wrote before it had a second generator: no "noise" field.
    const before =
      '{"prompt":"a photo of a cat","seed":42,"steps":2,"width":512,"height":768,"sampler":"Euler a","cfgScale":0,"model":"tiny-fp32"}';
    expect(readParametersChunk({ [JSON_KEYWORD]: before })).toEqual({
      prompt: 'a photo of a cat',
      seed: 42,
      noise: 'mulberry32',
      steps: 2,
      width: 512,
      height: 768,
      model: 'tiny-fp32',
    });
    // A generator this app cannot run cannot reproduce the image.
    const unknown = before.replace('"seed":42,', '"seed":42,"noise":"philox",');
    expect(readParametersChunk({ [JSON_KEYWORD]: unknown })).toBeNull();
  });

  it('rejects a missing or malformed JSON chunk', () => {
    expect(readParametersChunk({})).toBeNull();
    expect(readParametersChunk({ [JSON_KEYWORD]: '{' })).toBeNull();
    expect(readParametersChunk({ [JSON_KEYWORD]: '{"prompt":"x","seed":"1"}' })).toBeNull();
  });

  it('names a model by the last segment of its URL or directory', () => {
    expect(modelNameFromLocation('http://h:1/models/tiny-fp32/')).toBe('tiny-fp32');
    expect(modelNameFromLocation('.test-models/tiny-fp16')).toBe('tiny-fp16');
    expect(modelNameFromLocation('https://h/x/?a=b')).toBe('x');
  });
});

describe('PNG export', () => {
  it('encodes pixels losslessly with both text chunks that fast-png reads back', () => {
    const data = new Uint8ClampedArray(4 * 3 * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 256;
    const png = decode(encodePngWithParameters({ width: 4, height: 3, data }, PARAMS));
    expect([png.width, png.height, png.channels]).toEqual([4, 3, 4]);
    expect(Array.from(png.data)).toEqual(Array.from(data));
    expect(png.text[PARAMETERS_KEYWORD]).toBe(parametersText(PARAMS));
    expect(readParametersChunk(png.text)).toEqual(PARAMS);
  });

  it('downscales by averaging the covered pixels, keeping the aspect ratio', () => {
    // 4×2: left half black, right half white -> 2×1 at maxSide 2.
    const data = new Uint8ClampedArray(4 * 2 * 4);
    for (let p = 0; p < 8; p++) data.set(p % 4 < 2 ? [0, 0, 0, 255] : [255, 255, 255, 255], p * 4);
    const small = downscaleRgba({ width: 4, height: 2, data }, 2);
    expect([small.width, small.height]).toEqual([2, 1]);
    expect(Array.from(small.data)).toEqual([0, 0, 0, 255, 255, 255, 255, 255]);
    // 3 columns into 2 cover one and two pixels: means of 10 and of (20, 30).
    const odd = downscaleRgba(
      {
        width: 3,
        height: 1,
        data: Uint8ClampedArray.from([10, 10, 10, 255, 20, 20, 20, 255, 30, 30, 30, 255]),
      },
      2,
    );
    expect(Array.from(odd.data)).toEqual([10, 10, 10, 255, 25, 25, 25, 255]);
  });
});
