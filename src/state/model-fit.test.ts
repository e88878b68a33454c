import { describe, expect, it } from 'vitest';
import type { Capabilities, HostedModelInfo } from '../protocol/messages';
import { assessHostedModel, recommendHostedModel } from './model-fit';

const GiB = 1024 ** 3;
const Q4: HostedModelInfo = {
  modelId: 'webnn-sdxl-turbo-q4f16',
  displayName: 'q4f16',
  baseUrl: 'https://q4/',
  approxBytes: 2.7e9,
};
const FP16: HostedModelInfo = {
  modelId: 'sdxl-turbo-fp16-converted',
  displayName: 'fp16',
  baseUrl: 'https://fp16/',
  approxBytes: 13.9e9,
  keptBytes: 7.1e9,
};
const caps = (c: Partial<Capabilities>): Capabilities => ({
  webgpu: true,
  shaderF16: true,
  adapter: 'gpu',
  maxBufferSize: 4 * GiB,
  maxStorageBufferBindingSize: 4 * GiB,
  ...c,
});

describe('hosted model fit', () => {
  it('recommends fp16 on a roomy GPU and q4f16 elsewhere', () => {
    expect(recommendHostedModel([Q4, FP16], caps({}))).toBe(FP16);
    expect(recommendHostedModel([Q4, FP16], caps({ maxBufferSize: GiB }))).toBe(Q4);
    expect(recommendHostedModel([Q4, FP16], caps({ maxStorageBufferBindingSize: GiB }))).toBe(Q4);
    expect(recommendHostedModel([Q4, FP16], caps({ shaderF16: false }))).toBe(Q4);
    expect(recommendHostedModel([Q4, FP16], null)).toBe(Q4);
  });

  it('says why a build would be slow or tight', () => {
    expect(assessHostedModel(FP16, caps({ shaderF16: false }), null).verdict).toBe('slow');
    expect(assessHostedModel(FP16, caps({ webgpu: false }), null).verdict).toBe('slow');
    expect(assessHostedModel(FP16, caps({ maxBufferSize: GiB }), null).verdict).toBe('tight');
    expect(assessHostedModel(Q4, caps({ maxBufferSize: GiB }), null).verdict).toBe('good');
    expect(assessHostedModel(FP16, caps({}), null).verdict).toBe('good');
    expect(assessHostedModel(FP16, null, null).verdict).toBe('unknown');
  });

  it('flags too little free storage to keep the build', () => {
    const fit = assessHostedModel(FP16, caps({}), 5e9);
    expect(fit).toMatchObject({ verdict: 'tight', storageShort: true });
    expect(fit.notes.join(' ')).toMatch(/free storage/);
    expect(assessHostedModel(FP16, caps({}), 8e9).storageShort).toBe(false);
  });
});
