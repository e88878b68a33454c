import { describe, expect, it } from 'vitest';
import { decodeModel, externalDataFiles, operatorTypes } from './inspect.ts';
import { DataLocation, ModelProto, TensorDataType, type Model, type Tensor } from './schema.ts';

function external(name: string, location: string, offset: number): Tensor {
  return {
    name,
    dims: [4],
    dataType: TensorDataType.FLOAT,
    dataLocation: DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: '16' },
    ],
  };
}

function encode(model: Model): Uint8Array {
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

const inline: Tensor = {
  name: 'bias',
  dims: [1],
  dataType: TensorDataType.FLOAT,
  rawData: new Uint8Array(4),
};

const model = encode({
  irVersion: 8,
  opsetImport: [
    { domain: '', version: 17 },
    { domain: 'com.microsoft', version: 1 },
  ],
  graph: {
    name: 'g',
    initializer: [
      external('w0', 'model.onnx_data', 0),
      inline,
      external('w1', 'model.onnx_data_1', 0),
      external('w2', 'model.onnx_data', 4096),
    ],
    node: [
      { opType: 'MatMul', input: ['x', 'w0'], output: ['y'] },
      { opType: 'MatMulNBits', domain: 'com.microsoft', input: ['y'], output: ['z'] },
      { opType: 'Add', domain: '', input: ['z', 'bias'], output: ['a'] },
      { opType: 'MatMul', input: ['a', 'w1'], output: ['b'] },
      {
        opType: 'Constant',
        output: ['c'],
        attribute: [{ name: 'value', type: 4, t: external('const', 'constants.bin', 0) }],
      },
    ],
    input: [{ name: 'x' }],
    output: [{ name: 'b' }],
  },
});

describe('externalDataFiles', () => {
  it('lists distinct locations in first-seen order, attribute tensors included', () => {
    expect(externalDataFiles(model)).toEqual([
      'model.onnx_data',
      'model.onnx_data_1',
      'constants.bin',
    ]);
  });

  it('is empty for a model with inline weights', () => {
    const bytes = encode({ irVersion: 8, graph: { name: 'g', initializer: [inline] } });
    expect(externalDataFiles(bytes)).toEqual([]);
  });

  it('rejects an external tensor without a location', () => {
    const broken = { ...external('w', 'x', 0), externalData: [{ key: 'offset', value: '0' }] };
    const bytes = encode({ irVersion: 8, graph: { name: 'g', initializer: [broken] } });
    expect(() => externalDataFiles(bytes)).toThrow(/no location/);
  });
});

describe('operatorTypes', () => {
  it('lists distinct domain:op_type, the default domain as ai.onnx', () => {
    expect(operatorTypes(model)).toEqual([
      'ai.onnx:MatMul',
      'com.microsoft:MatMulNBits',
      'ai.onnx:Add',
      'ai.onnx:Constant',
    ]);
  });
});

describe('decodeModel', () => {
  it('reads a model back', () => {
    const decoded = decodeModel(model);
    expect(decoded.graph.name).toBe('g');
    expect(decoded.opsetImport?.map((o) => o.domain)).toEqual(['', 'com.microsoft']);
  });

  it.each([
    ['an HTML page', '<!DOCTYPE html><html><body>Not found</body></html>', /HTML/],
    ['an HTML page with leading space', '\n  <html lang="en"><head></head></html>', /HTML/],
    ['JSON', '{"error":"unauthorized"}', /JSON/],
    ['a Git LFS pointer', 'version https://git-lfs.github.com/spec/v1\noid sha256:ab\n', /LFS/],
    ['plain text', 'Entry not found', /Not an ONNX model/],
  ])('rejects %s with a clear message', (_what, text, message) => {
    const bytes = new TextEncoder().encode(text);
    expect(() => externalDataFiles(bytes)).toThrow(message);
    expect(() => operatorTypes(bytes)).toThrow(/Not an ONNX model/);
  });

  it('rejects empty and random bytes', () => {
    expect(() => decodeModel(new Uint8Array())).toThrow(/empty/);
    const noise = new Uint8Array(256);
    let state = 1;
    for (let i = 0; i < noise.length; i++) {
      state = (state * 1103515245 + 12345) >>> 0;
      noise[i] = state >>> 24;
    }
    expect(() => decodeModel(noise)).toThrow(/Not an ONNX model/);
  });

  it('rejects a protobuf message without a graph', () => {
    expect(() => decodeModel(encode({ irVersion: 8, producerName: 'x' }))).toThrow(/no graph/);
  });
});
