/**
 * A local HTTP model host for the storage tests (node:http on 127.0.0.1): HEAD, single byte
 * ranges (206 + Content-Range), and per-file misbehaviour on demand (error statuses, HTML
 * pages, cut connections, short bodies, ignored ranges), with a log of every request and of
 * the body bytes sent, so a test can count what a download fetched.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Misbehaviour {
  /** Answer the next `times` requests (default: all) with this status. */
  status?: number;
  times?: number;
  /** Answer with an HTML page, 200, text/html. */
  htmlPage?: boolean;
  /** Answer with an HTML page labelled application/octet-stream (only the bytes tell). */
  disguisedHtml?: boolean;
  /** Send the whole file with 200 even when asked for a range. */
  ignoreRange?: boolean;
  /** Reset the connection after this many body bytes (a dropped connection). */
  dropAfter?: number;
  /** End the body cleanly after this many bytes, without a Content-Length (a short body). */
  endAfter?: number;
  /** Send this many extra bytes, without a Content-Length. */
  extraBytes?: number;
  /** Declare this Content-Length on a full answer (and send the real bytes: length mismatch). */
  declaredLength?: number;
  /** Answer HEAD with 405 (some hosts do), so sizes must come from a range probe. */
  noHead?: boolean;
  /** Send Content-Range with a wrong start. */
  wrongContentRange?: boolean;
  /** Pause after each piece of this size (ms) so a test can act mid-download. */
  pieceBytes?: number;
  pieceDelayMs?: number;
}

export interface RequestLog {
  method: string;
  path: string;
  range: string | null;
  status: number;
  /** Body bytes written. */
  bytes: number;
}

export interface WeightServer {
  origin: string;
  url(path: string): string;
  requests: RequestLog[];
  /** Body bytes sent for one path (all requests). */
  bytesSent(path: string): number;
  /** Most requests that were open at the same time. */
  maxConcurrent: number;
  misbehave(path: string, how: Misbehaviour | null): void;
  setFile(path: string, bytes: Uint8Array | null): void;
  close(): Promise<void>;
}

const HTML = '<!DOCTYPE html><html><head><title>Sign in</title></head><body>Log in</body></html>';

function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null {
  const match = header ? /^bytes=(\d+)-(\d*)$/.exec(header) : null;
  if (!match) return null;
  const start = Number(match[1]);
  const end = match[2] ? Math.min(Number(match[2]), size - 1) : size - 1;
  return { start, end };
}

export async function startWeightServer(files: Record<string, Uint8Array>): Promise<WeightServer> {
  const content = new Map(Object.entries(files).map(([path, bytes]) => [`/${path}`, bytes]));
  const misbehaviours = new Map<string, Misbehaviour & { served: number }>();
  const requests: RequestLog[] = [];
  let open = 0;
  const state = { maxConcurrent: 0 };

  const server = http.createServer((req, res) => {
    open += 1;
    state.maxConcurrent = Math.max(state.maxConcurrent, open);
    res.on('close', () => (open -= 1));
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const log: RequestLog = {
      method: req.method ?? 'GET',
      path: path.slice(1),
      range: req.headers.range ?? null,
      status: 200,
      bytes: 0,
    };
    requests.push(log);
    const answer = (
      status: number,
      headers: Record<string, string | number>,
      body?: Uint8Array | string,
    ) => {
      log.status = status;
      res.writeHead(status, headers);
      if (body !== undefined && req.method !== 'HEAD') {
        log.bytes += typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
        res.end(body);
      } else {
        res.end();
      }
    };
    const how = misbehaviours.get(path);
    const bytes = content.get(path);
    if (how && how.status !== undefined && (how.times === undefined || how.served < how.times)) {
      how.served += 1;
      return answer(how.status, { 'Content-Type': 'text/plain' }, `status ${how.status}`);
    }
    if (!bytes) return answer(404, { 'Content-Type': 'text/plain' }, 'not found');
    if (how?.htmlPage) return answer(200, { 'Content-Type': 'text/html; charset=utf-8' }, HTML);
    if (how?.disguisedHtml)
      return answer(200, { 'Content-Type': 'application/octet-stream' }, HTML);
    if (req.method === 'HEAD' && how?.noHead) return answer(405, {});

    const range = how?.ignoreRange ? null : parseRange(req.headers.range, bytes.byteLength);
    const start = range?.start ?? 0;
    const end = range?.end ?? bytes.byteLength - 1;
    let body = bytes.subarray(start, end + 1);
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream',
      'Accept-Ranges': 'bytes',
    };
    const status = range ? 206 : 200;
    if (range) {
      const shown = how?.wrongContentRange ? start + 1 : start;
      headers['Content-Range'] = `bytes ${shown}-${end}/${bytes.byteLength}`;
    }
    if (how?.endAfter !== undefined) body = body.subarray(0, how.endAfter);
    if (how?.extraBytes) body = Buffer.concat([body, new Uint8Array(how.extraBytes)]);
    const unsized = how?.endAfter !== undefined || how?.extraBytes !== undefined;
    if (!unsized) headers['Content-Length'] = how?.declaredLength ?? body.byteLength;
    log.status = status;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return res.end();

    const dropAfter = how?.dropAfter;
    const piece = how?.pieceBytes ?? 64 * 1024;
    let offset = 0;
    const pump = () => {
      while (offset < body.byteLength) {
        let next = Math.min(body.byteLength, offset + piece);
        if (dropAfter !== undefined && next >= dropAfter) {
          next = dropAfter;
          const last = body.subarray(offset, next);
          log.bytes += last.byteLength;
          res.write(last, () => res.destroy());
          return;
        }
        const part = body.subarray(offset, next);
        offset = next;
        log.bytes += part.byteLength;
        const more = res.write(part);
        if (how?.pieceDelayMs) {
          setTimeout(pump, how.pieceDelayMs);
          return;
        }
        if (!more) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    res.on('close', () => (offset = body.byteLength)); // client went away: stop pumping
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    url: (path) => `${origin}/${path}`,
    requests,
    bytesSent: (path) =>
      requests.filter((r) => r.path === path).reduce((sum, r) => sum + r.bytes, 0),
    get maxConcurrent() {
      return state.maxConcurrent;
    },
    misbehave: (path, how) => {
      if (how) misbehaviours.set(`/${path}`, { ...how, served: 0 });
      else misbehaviours.delete(`/${path}`);
    },
    setFile: (path, bytes) => {
      if (bytes) content.set(`/${path}`, bytes);
      else content.delete(`/${path}`);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Deterministic pseudo-random bytes (xorshift32), different per seed. */
export function testBytes(length: number, seed = 1): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    bytes[i] = x & 0xff;
  }
  return bytes;
}
