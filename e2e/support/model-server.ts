/**
 * A small static file server for the test models (`.test-models/`), standing in for a model
 * host such as Hugging Face: cross-origin (CORS), HEAD and single byte ranges (206), so the
 * app's downloader meets the same protocol it meets in production.
 *
 *   npx tsx e2e/support/model-server.ts       # TEST_MODELS_DIR, MODEL_SERVER_PORT override
 *
 * It logs every file request so that tests can count what the app fetched:
 *   GET  /__stats        -> { requests: [{ method, path, range, status, bytes }] }
 *   POST /__stats/reset  -> 204, clears the log
 *   POST /__throttle?bps=N -> 204, later responses send at most N bytes/s each (0: full speed)
 *   POST /__fault?path=P&mode=M[&times=N][&after=B] -> 204, the next N (default: every)
 *        requests for a file whose path ends with P misbehave as M (see FaultMode)
 *   POST /__fault/clear    -> 204, every file is served correctly again
 * `bytes` is the body length the server answered with (0 for HEAD and errors). CORS
 * preflights (OPTIONS) and the stats endpoints themselves are not logged.
 */
import { createReadStream, type Stats } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface RequestRecord {
  method: string;
  /** Decoded URL path, e.g. "/tiny-fp32/unet/model.onnx". */
  path: string;
  /** The Range header as sent, or null. */
  range: string | null;
  status: number;
  bytes: number;
}

/**
 * How a faulty model host misbehaves, one kind of real-world failure each:
 *   404          the file is not there (a wrong URL, a deleted revision)
 *   500          the server fails (retryable: a transient outage if `times` is small)
 *   html         200 with an HTML page instead of the file (a login or error page)
 *   truncate     the file on the host is cut short: a consistent, shorter answer
 *   wrong-length Content-Length and body say the file is longer than it is in the manifest
 *   drop         the connection is destroyed after `after` bytes of the body (default: half)
 */
export const FAULT_MODES = ['404', '500', 'html', 'truncate', 'wrong-length', 'drop'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface Fault {
  mode: FaultMode;
  /** Requests left to spoil; Infinity until cleared. */
  remaining: number;
  /** drop: body bytes sent before the socket is destroyed. */
  after: number | null;
}

function isFaultMode(value: string | null): value is FaultMode {
  return (FAULT_MODES as readonly string[]).includes(value ?? '');
}

export interface ModelServer {
  server: http.Server;
  port: number;
  /** e.g. "http://127.0.0.1:4174" */
  origin: string;
  requests: RequestRecord[];
  close(): Promise<void>;
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_MODELS_DIR = path.join(REPO_ROOT, '.test-models');
export const DEFAULT_PORT = 4174;

const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Content-Length, Content-Range, Accept-Ranges',
};

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.onnx': 'application/octet-stream',
  '.data': 'application/octet-stream',
};

/** Maps a URL path onto a file under root, or null when it would leave root. */
function resolveInside(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const file = path.resolve(root, '.' + path.posix.normalize('/' + decoded));
  return file.startsWith(root + path.sep) ? file : null;
}

type ByteRange = { start: number; end: number } | 'unsatisfiable' | null;

/**
 * Parses a single `bytes=` range (`a-b`, `a-`, `-n`). Multiple ranges and other units answer
 * null, which serves the whole file: a server may ignore Range (RFC 9110 14.2).
 */
export function parseRange(header: string | undefined, size: number): ByteRange {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match) return null;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return null;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return null; // invalid: ignore it
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** Passes chunks on no faster than `bytesPerSecond`. */
function throttle(bytesPerSecond: number): Transform {
  const started = Date.now();
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sent += chunk.length;
      const due = started + (sent / bytesPerSecond) * 1000;
      setTimeout(() => done(null, chunk), Math.max(0, due - Date.now()));
    },
  });
}

/** Passes `limit` bytes on, then destroys the response's socket: a connection lost mid-file. */
function dropAfter(limit: number, res: http.ServerResponse): Transform {
  let sent = 0;
  // Kept now: once the response has ended, res.socket is detached from it.
  const socket = res.socket;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const room = limit - sent;
      sent += Math.min(room, chunk.length);
      if (chunk.length < room) return done(null, chunk);
      this.push(chunk.subarray(0, room));
      // Let the bytes reach the socket, then cut it without a proper end of the body (the
      // stream is not passed on, so the response never ends cleanly).
      setTimeout(() => socket?.destroy(), 50);
    },
    flush() {
      // never: the connection is cut before the end
    },
  });
}

function decodedPath(urlPath: string): string {
  try {
    return decodeURIComponent(urlPath);
  } catch {
    return urlPath;
  }
}

export function createModelServer(root: string): {
  server: http.Server;
  requests: RequestRecord[];
} {
  const modelsRoot = path.resolve(root);
  const requests: RequestRecord[] = [];
  let throttleBytesPerSecond = 0;
  /** Keyed by path suffix, e.g. "unet/model.onnx_data". */
  const faults = new Map<string, Fault>();
  const faultFor = (urlPath: string): Fault | null => {
    for (const [suffix, fault] of faults) {
      if (fault.remaining > 0 && (urlPath === suffix || urlPath.endsWith(`/${suffix}`))) {
        fault.remaining -= 1;
        return fault;
      }
    }
    return null;
  };

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      console.error('model-server:', error);
      if (!res.headersSent) res.writeHead(500, CORS_HEADERS);
      res.end();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const urlPath = new URL(req.url ?? '/', 'http://localhost').pathname;

    if (method === 'OPTIONS') {
      res.writeHead(204, {
        ...CORS_HEADERS,
        'Access-Control-Allow-Methods': 'GET, HEAD, POST, OPTIONS',
        'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? 'Range',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }
    if (urlPath === '/__stats' && method === 'GET') {
      const body = JSON.stringify({ requests });
      res.writeHead(200, {
        ...CORS_HEADERS,
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': 'no-store',
      });
      res.end(body);
      return;
    }
    if (urlPath === '/__throttle' && method === 'POST') {
      // Bytes per second per response (0: unthrottled), so a test can act mid-download.
      const bps = Number(new URL(req.url ?? '/', 'http://localhost').searchParams.get('bps') ?? 0);
      throttleBytesPerSecond = Number.isFinite(bps) && bps > 0 ? bps : 0;
      res.writeHead(204, CORS_HEADERS);
      res.end();
      return;
    }
    if (urlPath === '/__fault' && method === 'POST') {
      const params = new URL(req.url ?? '/', 'http://localhost').searchParams;
      const target = params.get('path')?.replace(/^\/+/, '') ?? '';
      const mode = params.get('mode');
      const times = params.get('times');
      const after = params.get('after');
      if (target === '' || !isFaultMode(mode)) {
        res.writeHead(400, CORS_HEADERS);
        res.end(`path and mode (${FAULT_MODES.join('|')}) are required`);
        return;
      }
      faults.set(target, {
        mode,
        remaining: times === null ? Infinity : Number(times),
        after: after === null ? null : Number(after),
      });
      res.writeHead(204, CORS_HEADERS);
      res.end();
      return;
    }
    if (urlPath === '/__fault/clear' && method === 'POST') {
      faults.clear();
      res.writeHead(204, CORS_HEADERS);
      res.end();
      return;
    }
    if (urlPath === '/__stats/reset' && method === 'POST') {
      requests.length = 0;
      res.writeHead(204, CORS_HEADERS);
      res.end();
      return;
    }

    const range = req.headers.range ?? null;
    const record = (status: number, bytes: number) => {
      let logged = urlPath;
      try {
        logged = decodeURIComponent(urlPath);
      } catch {
        // keep the raw path
      }
      requests.push({ method, path: logged, range, status, bytes });
    };
    const fail = (status: number, headers: http.OutgoingHttpHeaders = {}) => {
      record(status, 0);
      res.writeHead(status, { ...CORS_HEADERS, 'Content-Length': 0, ...headers });
      res.end();
    };

    if (method !== 'GET' && method !== 'HEAD') return fail(405, { Allow: 'GET, HEAD, OPTIONS' });
    const file = resolveInside(modelsRoot, urlPath);
    if (!file) return fail(404);
    let info: Stats;
    try {
      info = await stat(file);
    } catch {
      return fail(404);
    }
    if (!info.isFile()) return fail(404);

    const fault = faultFor(decodedPath(urlPath));
    if (fault?.mode === '404') return fail(404);
    if (fault?.mode === '500') return fail(500);
    if (fault?.mode === 'html') {
      const page = '<!doctype html><html><body><h1>Sign in to continue</h1></body></html>';
      record(200, method === 'HEAD' ? 0 : Buffer.byteLength(page));
      res.writeHead(200, {
        ...CORS_HEADERS,
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Length': Buffer.byteLength(page),
        'Cache-Control': 'no-store',
      });
      res.end(method === 'HEAD' ? undefined : page);
      return;
    }

    // truncate: the host's copy is half the file; wrong-length: it has 4 KiB more (zeros).
    const size =
      fault?.mode === 'truncate'
        ? Math.floor(info.size / 2)
        : fault?.mode === 'wrong-length'
          ? info.size + 4096
          : info.size;
    const parsed = parseRange(range ?? undefined, size);
    if (parsed === 'unsatisfiable') return fail(416, { 'Content-Range': `bytes */${size}` });

    const start = parsed ? parsed.start : 0;
    const end = parsed ? parsed.end : size - 1;
    const length = size === 0 ? 0 : end - start + 1;
    const status = parsed ? 206 : 200;
    const headers: http.OutgoingHttpHeaders = {
      ...CORS_HEADERS,
      'Accept-Ranges': 'bytes',
      'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'Content-Length': length,
      'Last-Modified': info.mtime.toUTCString(),
      // Tests count requests: the browser's HTTP cache must not answer for us.
      'Cache-Control': 'no-store',
    };
    if (parsed) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;

    record(status, method === 'HEAD' ? 0 : length);
    res.writeHead(status, headers);
    if (method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    let stream: Readable = createReadStream(file, {
      start,
      end: Math.min(end, info.size - 1),
      highWaterMark: 16 * 1024,
    });
    if (end >= info.size) {
      // wrong-length: the bytes past the real file are zeros.
      stream = Readable.from(
        (async function* (head: Readable, extra: number) {
          for await (const piece of head) yield piece as Buffer;
          yield Buffer.alloc(extra);
        })(stream, end - Math.max(start, info.size) + 1),
      );
    }
    stream.on('error', () => res.destroy());
    res.on('close', () => stream.destroy());
    if (fault?.mode === 'drop') stream = stream.pipe(dropAfter(fault.after ?? length / 2, res));
    if (throttleBytesPerSecond > 0) stream.pipe(throttle(throttleBytesPerSecond)).pipe(res);
    else stream.pipe(res);
  }

  return { server, requests };
}

export async function startModelServer(
  options: {
    root?: string;
    port?: number;
    host?: string;
  } = {},
): Promise<ModelServer> {
  const host = options.host ?? '127.0.0.1';
  const { server, requests } = createModelServer(options.root ?? DEFAULT_MODELS_DIR);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    origin: `http://${host}:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

const isMain =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const root = process.env['TEST_MODELS_DIR']
    ? path.resolve(process.env['TEST_MODELS_DIR'])
    : DEFAULT_MODELS_DIR;
  const port = Number(process.env['MODEL_SERVER_PORT'] ?? DEFAULT_PORT);
  const running = await startModelServer({ root, port });
  console.log(`model server: ${running.origin}/ -> ${root}`);
  const stop = () => void running.close().finally(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
