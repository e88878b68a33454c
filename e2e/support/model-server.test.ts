import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseRange, startModelServer, type ModelServer } from './model-server.ts';

let base: string;
let dir: string;
let server: ModelServer;
const content = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

beforeAll(async () => {
  // base/models is served; base/model-server-secret.txt sits just outside it.
  base = await mkdtemp(path.join(tmpdir(), 'model-server-'));
  dir = path.join(base, 'models');
  await mkdir(path.join(dir, 'tiny', 'unet'), { recursive: true });
  await writeFile(path.join(dir, 'tiny', 'unet', 'model.onnx'), content);
  await writeFile(path.join(dir, 'tiny', 'manifest.json'), '{"ok":true}');
  await writeFile(path.join(dir, 'with space.txt'), 'spaced');
  await writeFile(path.join(base, 'model-server-secret.txt'), 'secret');
  server = await startModelServer({ root: dir, port: 0 });
});

afterAll(async () => {
  await server.close();
  await rm(base, { recursive: true, force: true });
});

beforeEach(async () => {
  const reset = await fetch(`${server.origin}/__stats/reset`, { method: 'POST' });
  expect(reset.status).toBe(204);
});

describe('model server', () => {
  it('serves a whole file with CORS and range headers', async () => {
    const res = await fetch(`${server.origin}/tiny/unet/model.onnx`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('1000');
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toContain('Content-Range');
    expect(Buffer.from(await res.arrayBuffer()).equals(content)).toBe(true);
  });

  it('serves JSON with its content type and decodes escaped paths', async () => {
    const json = await fetch(`${server.origin}/tiny/manifest.json`);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(await json.json()).toEqual({ ok: true });
    const spaced = await fetch(`${server.origin}/with%20space.txt`);
    expect(await spaced.text()).toBe('spaced');
  });

  it('answers a single range with 206 and Content-Range', async () => {
    const res = await fetch(`${server.origin}/tiny/unet/model.onnx`, {
      headers: { Range: 'bytes=100-199' },
    });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe('bytes 100-199/1000');
    expect(res.headers.get('content-length')).toBe('100');
    expect(Buffer.from(await res.arrayBuffer()).equals(content.subarray(100, 200))).toBe(true);

    const open = await fetch(`${server.origin}/tiny/unet/model.onnx`, {
      headers: { Range: 'bytes=990-' },
    });
    expect(open.status).toBe(206);
    expect(open.headers.get('content-range')).toBe('bytes 990-999/1000');
    expect((await open.arrayBuffer()).byteLength).toBe(10);

    const suffix = await fetch(`${server.origin}/tiny/unet/model.onnx`, {
      headers: { Range: 'bytes=-5' },
    });
    expect(suffix.headers.get('content-range')).toBe('bytes 995-999/1000');
    expect(Buffer.from(await suffix.arrayBuffer()).equals(content.subarray(995))).toBe(true);
  });

  it('answers 416 for a range past the end', async () => {
    const res = await fetch(`${server.origin}/tiny/unet/model.onnx`, {
      headers: { Range: 'bytes=1000-' },
    });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe('bytes */1000');
    await res.arrayBuffer();
  });

  it('answers HEAD with the length and no body', async () => {
    const res = await fetch(`${server.origin}/tiny/unet/model.onnx`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('1000');
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it('answers 404 for missing files and directories', async () => {
    for (const p of ['/nope.onnx', '/tiny', '/tiny/', '/']) {
      const res = await fetch(`${server.origin}${p}`);
      expect(res.status, p).toBe(404);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      await res.arrayBuffer();
    }
  });

  it('never serves files outside its root', async () => {
    const name = 'model-server-secret.txt';
    // fetch() normalises "/../", so send raw paths with node:http's own client instead.
    for (const p of [
      `/../${name}`,
      `/%2e%2e/${name}`,
      `/tiny/..%2f..%2f${name}`,
      `/..%5c${name}`,
    ]) {
      const status = await rawGetStatus(server.port, p);
      expect(status, p).toBe(404);
    }
  });

  it('answers CORS preflights', async () => {
    const res = await fetch(`${server.origin}/tiny/unet/model.onnx`, {
      method: 'OPTIONS',
      headers: {
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'range',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-headers')).toBe('range');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('logs file requests in /__stats and resets them', async () => {
    await (await fetch(`${server.origin}/tiny/unet/model.onnx`)).arrayBuffer();
    await (
      await fetch(`${server.origin}/tiny/unet/model.onnx`, { headers: { Range: 'bytes=0-9' } })
    ).arrayBuffer();
    await fetch(`${server.origin}/tiny/unet/model.onnx`, { method: 'HEAD' });
    await (await fetch(`${server.origin}/missing`)).arrayBuffer();

    const stats = (await (await fetch(`${server.origin}/__stats`)).json()) as {
      requests: unknown[];
    };
    expect(stats.requests).toEqual([
      { method: 'GET', path: '/tiny/unet/model.onnx', range: null, status: 200, bytes: 1000 },
      { method: 'GET', path: '/tiny/unet/model.onnx', range: 'bytes=0-9', status: 206, bytes: 10 },
      { method: 'HEAD', path: '/tiny/unet/model.onnx', range: null, status: 200, bytes: 0 },
      { method: 'GET', path: '/missing', range: null, status: 404, bytes: 0 },
    ]);

    await fetch(`${server.origin}/__stats/reset`, { method: 'POST' });
    const after = (await (await fetch(`${server.origin}/__stats`)).json()) as {
      requests: unknown[];
    };
    expect(after.requests).toEqual([]);
  });
});

describe('model server faults', () => {
  const url = () => `${server.origin}/tiny/unet/model.onnx`;
  const fault = async (query: string) => {
    const res = await fetch(`${server.origin}/__fault?${query}`, { method: 'POST' });
    expect(res.status).toBe(204);
  };
  afterAll(async () => {
    await fetch(`${server.origin}/__fault/clear`, { method: 'POST' });
  });

  it('answers 404, 500 and an HTML page for a faulted path until cleared', async () => {
    await fault('path=unet/model.onnx&mode=404');
    expect((await fetch(url())).status).toBe(404);
    expect((await fetch(url())).status).toBe(404);
    // Other files are untouched.
    expect((await fetch(`${server.origin}/tiny/manifest.json`)).status).toBe(200);
    await fault('path=unet/model.onnx&mode=500');
    expect((await fetch(url())).status).toBe(500);
    await fault('path=unet/model.onnx&mode=html');
    const page = await fetch(url());
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<!doctype html>');
    await fetch(`${server.origin}/__fault/clear`, { method: 'POST' });
    expect(Buffer.from(await (await fetch(url())).arrayBuffer()).equals(content)).toBe(true);
  });

  it('spoils only the next `times` requests', async () => {
    await fault('path=unet/model.onnx&mode=500&times=2');
    expect((await fetch(url())).status).toBe(500);
    expect((await fetch(url())).status).toBe(500);
    expect((await fetch(url())).status).toBe(200);
  });

  it('serves a truncated file or one of the wrong length, consistently', async () => {
    await fault('path=unet/model.onnx&mode=truncate&times=1');
    const cut = await fetch(url());
    expect(cut.headers.get('content-length')).toBe('500');
    expect(Buffer.from(await cut.arrayBuffer()).equals(content.subarray(0, 500))).toBe(true);
    await fault('path=unet/model.onnx&mode=wrong-length&times=1');
    const long = await fetch(url());
    expect(long.headers.get('content-length')).toBe(String(1000 + 4096));
    const body = Buffer.from(await long.arrayBuffer());
    expect(body.length).toBe(1000 + 4096);
    expect(body.subarray(0, 1000).equals(content)).toBe(true);
  });

  it('drops the connection after the given number of body bytes', async () => {
    await fault('path=unet/model.onnx&mode=drop&times=1&after=300');
    const res = await fetch(url());
    expect(res.headers.get('content-length')).toBe('1000');
    // The body breaks off: reading it fails (undici reports "terminated").
    await expect(res.arrayBuffer()).rejects.toThrow();
    expect((await fetch(url())).status).toBe(200);
  });

  it('refuses an unknown mode', async () => {
    const res = await fetch(`${server.origin}/__fault?path=x&mode=explode`, { method: 'POST' });
    expect(res.status).toBe(400);
  });
});

describe('parseRange', () => {
  it('parses the single-range forms and ignores the rest', () => {
    expect(parseRange('bytes=0-0', 10)).toEqual({ start: 0, end: 0 });
    expect(parseRange('bytes=5-100', 10)).toEqual({ start: 5, end: 9 });
    expect(parseRange('bytes=-3', 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange('bytes=-30', 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=10-', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,4-5', 10)).toBeNull();
    expect(parseRange('items=0-1', 10)).toBeNull();
    expect(parseRange('bytes=5-2', 10)).toBeNull();
    expect(parseRange(undefined, 10)).toBeNull();
  });
});

function rawGetStatus(port: number, rawPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: 'GET' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}
