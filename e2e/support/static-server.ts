/**
 * A plain static file server for the built app, like any static host: files under `root`
 * are served at `prefix` (e.g. "/some/dir/"), "…/" answers with its index.html, nothing
 * else. Tests start and stop it themselves (to go offline for real) and can switch `root`
 * to another build (a new deployment).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export interface StaticServer {
  /** e.g. "http://127.0.0.1:39123" */
  origin: string;
  /** The app's URL: origin + prefix. */
  url: string;
  /** Every request's path, in order. */
  requests: string[];
  /** Serve another folder from now on (a new deployment). */
  setRoot(root: string): void;
  /** Stops listening and drops open connections; safe to call twice. */
  close(): Promise<void>;
}

export async function startStaticServer(options: {
  root: string;
  prefix?: string;
  host?: string;
}): Promise<StaticServer> {
  const prefix = options.prefix ?? '/';
  if (!prefix.startsWith('/') || !prefix.endsWith('/')) throw new Error(`bad prefix ${prefix}`);
  let root = path.resolve(options.root);
  const requests: string[] = [];

  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    requests.push(pathname);
    const send = (status: number, headers: http.OutgoingHttpHeaders = {}) => {
      res.writeHead(status, { 'Content-Length': 0, ...headers });
      res.end();
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405);
    if (pathname === prefix.slice(0, -1)) return send(301, { Location: prefix });
    if (!pathname.startsWith(prefix)) return send(404);
    let relative: string;
    try {
      relative = decodeURIComponent(pathname.slice(prefix.length));
    } catch {
      return send(400);
    }
    if (relative === '' || relative.endsWith('/')) relative += 'index.html';
    const file = path.resolve(root, '.' + path.posix.normalize('/' + relative));
    if (!file.startsWith(root + path.sep)) return send(404);
    void stat(file).then(
      (info) => {
        if (!info.isFile()) return send(404);
        res.writeHead(200, {
          'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
          'Content-Length': info.size,
          // Revalidate everything, as a host does for files that keep their names.
          'Cache-Control': 'no-cache',
        });
        if (req.method === 'HEAD') return res.end();
        createReadStream(file).pipe(res);
      },
      () => send(404),
    );
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const origin = `http://${host}:${(server.address() as AddressInfo).port}`;
  let closed: Promise<void> | null = null;
  return {
    origin,
    url: origin + prefix,
    requests,
    setRoot: (next) => {
      root = path.resolve(next);
    },
    close: () =>
      (closed ??= new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      })),
  };
}
