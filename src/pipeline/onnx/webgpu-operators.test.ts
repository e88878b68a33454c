import { describe, expect, it } from 'vitest';
import { operatorsMissingOnWebGpu } from './webgpu-operators.ts';

describe('operators the WebGPU EP lacks', () => {
  it('passes standard operators and the contrib ones the WebGPU EP implements', () => {
    expect(
      operatorsMissingOnWebGpu([
        'ai.onnx:Conv',
        'ai.onnx:Resize',
        'com.microsoft:MatMulNBits',
        'com.microsoft:MultiHeadAttention',
      ]),
    ).toEqual([]);
  });

  it('names CUDA-only contrib operators from optimized exports', () => {
    expect(
      operatorsMissingOnWebGpu([
        'ai.onnx:Conv',
        'com.microsoft:GroupNorm',
        'com.microsoft:NhwcConv',
      ]),
    ).toEqual(['com.microsoft:GroupNorm', 'com.microsoft:NhwcConv']);
  });
});
