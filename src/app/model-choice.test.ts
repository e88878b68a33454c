import { describe, expect, it } from 'vitest';
import type { Capabilities, HostedModelInfo, StoredModelInfo } from '../protocol/messages';
import {
  buildTradeOff,
  describeActiveModel,
  modelNameFromUrl,
  recommendationReason,
} from './model-choice';

const q4: HostedModelInfo = {
  modelId: 'webnn-sdxl-turbo-q4f16',
  displayName: 'SDXL Turbo q4f16 (webnn/sdxl-turbo)',
  baseUrl: 'https://hf.example/webnn/',
  approxBytes: 2.67e9,
};
const fp16: HostedModelInfo = {
  modelId: 'sdxl-turbo-fp16',
  displayName: 'SDXL Turbo fp16',
  baseUrl: 'https://hf.example/fp16/',
  approxBytes: 7e9,
};
const caps = (over: Partial<Capabilities>): Capabilities => ({
  webgpu: true,
  shaderF16: true,
  adapter: 'gpu',
  maxBufferSize: 4 * 1024 ** 3,
  maxStorageBufferBindingSize: 4 * 1024 ** 3,
  ...over,
});

describe('build wording', () => {
  it('says what each kind of build trades, in plain words', () => {
    expect(buildTradeOff(q4)).toMatch(/^Smaller download.*4 bits/);
    expect(buildTradeOff(fp16)).toMatch(/^Full picture quality; a bigger download/);
  });

  it('gives the reason that fits this device', () => {
    expect(recommendationReason(fp16, caps({}))).toContain('2 GiB or more');
    expect(recommendationReason(q4, caps({ maxBufferSize: 1024 ** 3 }))).toContain('under 2 GiB');
    expect(recommendationReason(q4, caps({ shaderF16: false }))).toContain('shader-f16');
    expect(recommendationReason(q4, caps({ webgpu: false }))).toContain('no WebGPU');
    expect(recommendationReason(q4, null)).toContain('still being checked');
  });
});

describe('naming the loaded model', () => {
  const stored = (over: Partial<StoredModelInfo>): StoredModelInfo => ({
    modelId: 'm',
    displayName: 'https://m.example/models/tiny-fp32/',
    baseUrl: 'https://m.example/models/tiny-fp32/',
    storedBytes: 8_000_000,
    totalBytes: 8_000_000,
    complete: true,
    ...over,
  });

  it("takes a URL's folder name", () => {
    expect(modelNameFromUrl('https://m.example/models/tiny%20fp32/')).toBe('tiny fp32');
    expect(modelNameFromUrl('https://m.example/')).toBe('m.example');
    // A Hugging Face file address names the repository, not the revision.
    expect(modelNameFromUrl('https://huggingface.co/webnn/sdxl-turbo/resolve/main/')).toBe(
      'webnn/sdxl-turbo',
    );
  });

  it('is stored only when this browser holds all of it, with the stored size', () => {
    const url = 'https://m.example/models/tiny-fp32/';
    expect(describeActiveModel(url, [], [stored({})], 123)).toEqual({
      name: 'tiny-fp32',
      stored: true,
      bytes: 8_000_000,
    });
    expect(describeActiveModel(url, [], [stored({ complete: false })], 123)).toEqual({
      name: 'tiny-fp32',
      stored: false,
      bytes: 123,
    });
  });

  it('names a hosted build by its display name, sized from the load or the card', () => {
    expect(describeActiveModel(q4.baseUrl, [q4], [], 0)).toEqual({
      name: q4.displayName,
      stored: false,
      bytes: q4.approxBytes,
    });
  });
});
