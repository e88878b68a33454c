import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeModelSet } from '../../scripts/test-model/write-model-set.ts';
import {
  HOSTED_MODELS,
  SDXL_TURBO_FP16_CONVERTED,
  WEBNN_SDXL_TURBO_Q4F16,
} from './hosted-models.ts';
import {
  manifestBytes,
  manifestFromBaseUrl,
  manifestKeptBytes,
  parseManifest,
  type Manifest,
} from './manifest.ts';
import { startWeightServer, type WeightServer } from './testing/weight-server.ts';
import { ModelProto, type Model } from '../pipeline/onnx/schema.ts';

/** A manifest as untrusted JSON, to be broken field by field. */
type Raw = Record<string, unknown> & { files?: Array<Record<string, unknown>> };

const valid = (): Manifest => ({
  id: 'tiny@1',
  revision: '1',
  displayName: 'Tiny',
  baseUrl: 'https://host/models/tiny/',
  files: [
    {
      path: 'unet/model.onnx',
      url: 'https://host/models/tiny/unet/model.onnx',
      bytes: 10,
      role: 'graph',
      graph: 'unet',
    },
    {
      path: 'unet/model.onnx_data',
      url: 'https://host/x',
      bytes: 20,
      role: 'external-data',
      graph: 'unet',
      sha256: 'ab'.repeat(32),
    },
    {
      path: 'tokenizer/vocab.json',
      url: 'https://host/v',
      bytes: 5,
      role: 'tokenizer',
      bytesApproximate: true,
      optional: false,
    },
  ],
});

describe('parseManifest', () => {
  it('accepts a valid manifest and returns it typed', () => {
    expect(parseManifest(JSON.parse(JSON.stringify(valid())))).toEqual(valid());
  });

  it.each([
    ['a missing id', (m: Raw) => delete m.id, /manifest\.id is missing/],
    ['an id with a slash', (m: Raw) => (m.id = 'a/b'), /manifest\.id may only hold/],
    ['missing files', (m: Raw) => delete m.files, /manifest\.files is missing/],
    ['empty files', (m: Raw) => (m.files = []), /manifest\.files must be a non-empty array/],
    [
      'a non-URL base',
      (m: Raw) => (m.baseUrl = 'models/'),
      /manifest\.baseUrl is not an absolute URL/,
    ],
    [
      'a missing size',
      (m: Raw) => delete m.files![1]!.bytes,
      /manifest\.files\[1\]\.bytes is missing/,
    ],
    [
      'a negative size',
      (m: Raw) => (m.files![0]!.bytes = -1),
      /files\[0\]\.bytes must be a non-negative integer/,
    ],
    [
      'a fractional size',
      (m: Raw) => (m.files![0]!.bytes = 1.5),
      /files\[0\]\.bytes must be a non-negative integer/,
    ],
    [
      'a path leaving the folder',
      (m: Raw) => (m.files![0]!.path = '../x.onnx'),
      /files\[0\]\.path must be a relative path/,
    ],
    [
      'an absolute path',
      (m: Raw) => (m.files![0]!.path = '/x.onnx'),
      /files\[0\]\.path must be a relative path/,
    ],
    [
      'an unknown role',
      (m: Raw) => (m.files![2]!.role = 'weights'),
      /files\[2\]\.role must be one of/,
    ],
    [
      'a graph without its name',
      (m: Raw) => delete m.files![0]!.graph,
      /files\[0\]\.graph is missing/,
    ],
    [
      'an unknown graph',
      (m: Raw) => (m.files![0]!.graph = 'refiner'),
      /files\[0\]\.graph must be one of/,
    ],
    [
      'a bad sha256',
      (m: Raw) => (m.files![1]!.sha256 = 'AB'),
      /files\[1\]\.sha256 must be 64 lower-case hex/,
    ],
    [
      'a file: URL',
      (m: Raw) => (m.files![0]!.url = 'file:///etc/passwd'),
      /files\[0\]\.url must be http\(s\)/,
    ],
    [
      'a repeated path',
      (m: Raw) => (m.files![1]!.path = 'unet/model.onnx'),
      /files\[1\]\.path repeats/,
    ],
    [
      'a non-boolean flag',
      (m: Raw) => (m.files![0]!.optional = 'yes'),
      /files\[0\]\.optional must be true or false/,
    ],
  ])('names the field for %s', (_name, change, message) => {
    const manifest = valid() as unknown as Raw;
    change(manifest);
    expect(() => parseManifest(manifest)).toThrow(message);
  });

  it('rejects what is not an object', () => {
    expect(() => parseManifest(null)).toThrow(/\(root\) must be a JSON object/);
    expect(() => parseManifest([])).toThrow(/\(root\) must be a JSON object/);
  });
});

describe('hosted manifests', () => {
  it('are valid, in the standard layout, with estimated sizes and no invented hashes', () => {
    for (const manifest of [...HOSTED_MODELS, SDXL_TURBO_FP16_CONVERTED]) {
      expect(parseManifest(manifest)).toEqual(manifest);
      const paths = manifest.files.map((f) => f.path);
      for (const required of [
        'tokenizer/vocab.json',
        'tokenizer_2/merges.txt',
        'text_encoder/model.onnx',
        'text_encoder_2/model.onnx',
        'unet/model.onnx',
        'vae_decoder/model.onnx',
      ]) {
        expect(paths).toContain(required);
      }
      for (const file of manifest.files) {
        expect(file.bytesApproximate).toBe(true);
        expect(file.sha256).toBeUndefined();
      }
    }
  });

  it('takes the webnn q4f16 graphs from onnx/ and the tokenizers from stabilityai/sdxl-turbo', () => {
    const byPath = new Map(WEBNN_SDXL_TURBO_Q4F16.files.map((f) => [f.path, f]));
    expect(byPath.get('unet/model.onnx')?.url).toBe(
      'https://huggingface.co/webnn/sdxl-turbo/resolve/main/onnx/unet_model_q4f16.onnx',
    );
    expect(byPath.get('tokenizer_2/vocab.json')?.url).toBe(
      'https://huggingface.co/stabilityai/sdxl-turbo/resolve/main/tokenizer_2/vocab.json',
    );
    expect(WEBNN_SDXL_TURBO_Q4F16.files.some((f) => f.role === 'external-data')).toBe(false);
  });

  it('offers no Olive/DirectML export; the converted build stores text encoders and UNet as fp16', () => {
    expect(HOSTED_MODELS.map((m) => m.id)).not.toContain('tensorstack-sdxl-turbo-fp16');
    const byPath = new Map(SDXL_TURBO_FP16_CONVERTED.files.map((f) => [f.path, f]));
    expect(byPath.get('unet/model.onnx_data')).toMatchObject({
      url: 'https://huggingface.co/stabilityai/sdxl-turbo/resolve/main/unet/model.onnx_data',
      role: 'external-data',
      graph: 'unet',
      storeAs: 'fp16',
    });
    const converted = SDXL_TURBO_FP16_CONVERTED.files.filter((f) => f.storeAs === 'fp16');
    expect(converted.map((f) => f.path).sort()).toEqual([
      'text_encoder/model.onnx',
      'text_encoder_2/model.onnx',
      'text_encoder_2/model.onnx_data',
      'unet/model.onnx',
      'unet/model.onnx_data',
    ]);
    expect(byPath.get('vae_decoder/model.onnx')?.storeAs).toBeUndefined();
    // About 14 GB to download, about 7 GB kept.
    expect(manifestBytes(SDXL_TURBO_FP16_CONVERTED) / 1e9).toBeCloseTo(13.9, 0);
    expect(manifestKeptBytes(SDXL_TURBO_FP16_CONVERTED) / 1e9).toBeCloseTo(7.1, 0);
  });

  it('accepts storeAs fp16 only on graphs and external data', () => {
    const raw = valid() as unknown as Raw;
    raw.files![0]!['storeAs'] = 'fp16';
    expect(parseManifest(raw).files[0]?.storeAs).toBe('fp16');
    raw.files![0]!['storeAs'] = 'int8';
    expect(() => parseManifest(raw)).toThrow(/storeAs/);
    const tokenizer = valid() as unknown as Raw;
    tokenizer.files![2]!['storeAs'] = 'fp16';
    expect(() => parseManifest(tokenizer)).toThrow(/only for graphs/);
  });
});

describe('manifestFromBaseUrl', () => {
  let dir = '';
  let server: WeightServer;
  const sizes = new Map<string, number>();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'manifest-test-'));
    writeModelSet(dir, 'fp32');
    const files: Record<string, Uint8Array> = {};
    const walk = (sub: string) => {
      for (const name of readdirSync(path.join(dir, sub))) {
        const relative = sub ? `${sub}/${name}` : name;
        if (statSync(path.join(dir, relative)).isDirectory()) walk(relative);
        else {
          files[`models/tiny/${relative}`] = readFileSync(path.join(dir, relative));
          sizes.set(relative, files[`models/tiny/${relative}`]!.byteLength);
        }
      }
    };
    walk('');
    server = await startWeightServer(files);
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the layout files, the external data the graphs name, and their sizes', async () => {
    const manifest = await manifestFromBaseUrl(server.url('models/tiny'), fetch);
    const byPath = new Map(manifest.files.map((f) => [f.path, f]));
    expect([...byPath.keys()].sort()).toEqual(
      [
        'text_encoder/model.onnx', 'text_encoder_2/model.onnx', 'tokenizer/merges.txt',
        'tokenizer/special_tokens_map.json', 'tokenizer/vocab.json', 'tokenizer_2/merges.txt',
        'tokenizer_2/special_tokens_map.json', 'tokenizer_2/vocab.json', 'unet/model.onnx',
        'unet/model.onnx_data', 'vae_decoder/model.onnx', 'vae_encoder/model.onnx',
      ].sort(),
    ); // prettier-ignore
    for (const [filePath, file] of byPath) expect(file.bytes).toBe(sizes.get(filePath));
    expect(byPath.get('unet/model.onnx_data')).toMatchObject({
      role: 'external-data',
      graph: 'unet',
      url: server.url('models/tiny/unet/model.onnx_data'),
    });
    expect(byPath.get('vae_encoder/model.onnx')).toMatchObject({
      role: 'graph',
      graph: 'vaeEncoder',
    });
    expect(manifest.id).toMatch(/^custom-[0-9a-f]{8}$/);
    expect(manifest.baseUrl).toBe(`${server.url('models/tiny')}/`);
  });

  it('leaves out optional files the host lacks and reads sizes by range when HEAD is refused', async () => {
    server.setFile('models/tiny/vae_encoder/model.onnx', null);
    server.setFile('models/tiny/tokenizer_2/special_tokens_map.json', null);
    server.misbehave('models/tiny/unet/model.onnx_data', { noHead: true });
    try {
      const manifest = await manifestFromBaseUrl(server.url('models/tiny/'), fetch, { id: 'tiny' });
      const paths = manifest.files.map((f) => f.path);
      expect(paths).not.toContain('vae_encoder/model.onnx');
      expect(paths).not.toContain('tokenizer_2/special_tokens_map.json');
      expect(manifest.files.find((f) => f.path === 'unet/model.onnx_data')?.bytes).toBe(
        sizes.get('unet/model.onnx_data'),
      );
      const probes = server.requests.filter((r) => r.path === 'models/tiny/unet/model.onnx_data');
      expect(probes.map((r) => [r.method, r.range])).toContainEqual(['GET', 'bytes=0-0']);
    } finally {
      server.misbehave('models/tiny/unet/model.onnx_data', null);
    }
  });

  it('does not download a big graph (weights inline) just to look for external data', async () => {
    const big = 1_400_000_000; // like an fp16 text_encoder_2 with inline weights
    const seen: string[] = [];
    const fakeFetch = async (url: string, init?: RequestInit) => {
      seen.push(`${init?.method ?? 'GET'} ${url}`);
      if (url.endsWith('text_encoder_2/model.onnx')) {
        return new Response(null, { status: 200, headers: { 'Content-Length': String(big) } });
      }
      return fetch(url, init);
    };
    const manifest = await manifestFromBaseUrl(server.url('models/tiny'), fakeFetch);
    expect(manifest.files.find((f) => f.path === 'text_encoder_2/model.onnx')?.bytes).toBe(big);
    const graphRequests = seen.filter((r) => r.endsWith('text_encoder_2/model.onnx'));
    expect(graphRequests).toEqual([`HEAD ${server.url('models/tiny/text_encoder_2/model.onnx')}`]);
  });

  it('refuses a graph with GroupNorm before any of its weights is requested', async () => {
    const original = readFileSync(path.join(dir, 'unet/model.onnx'));
    const model = ModelProto.decode(original) as unknown as Model;
    model.graph!.node!.push({
      name: 'olive_group_norm',
      opType: 'GroupNorm',
      domain: 'com.microsoft',
      input: ['sample', 'gamma', 'beta'],
      output: ['normed'],
    });
    server.setFile('models/tiny/unet/model.onnx', ModelProto.encode(model).finish());
    const before = server.requests.length;
    try {
      await expect(manifestFromBaseUrl(server.url('models/tiny'), fetch)).rejects.toThrow(
        /unet\/model\.onnx: The unet graph uses operators neither backend .* has: com\.microsoft:GroupNorm\./,
      );
      const weightRequests = server.requests
        .slice(before)
        .filter((r) => r.path.endsWith('model.onnx_data'));
      expect(weightRequests).toEqual([]);
    } finally {
      server.setFile('models/tiny/unet/model.onnx', original);
    }
  });

  it('fails naming a missing required file, or a graph that is an HTML page', async () => {
    await expect(manifestFromBaseUrl(server.url('nothing/here'), fetch)).rejects.toThrow(
      /tokenizer\/vocab\.json: .* does not exist/,
    );
    server.misbehave('models/tiny/unet/model.onnx', { htmlPage: true });
    try {
      await expect(manifestFromBaseUrl(server.url('models/tiny'), fetch)).rejects.toThrow(
        /unet\/model\.onnx: .* answered with an HTML page/,
      );
    } finally {
      server.misbehave('models/tiny/unet/model.onnx', null);
    }
  });
});
