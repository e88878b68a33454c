/**
 * The HTTP facts the downloader relies on, in one place: a remote file's size, byte ranges,
 * and telling a model file from an error page. Model hosts are other origins, so every request
 * omits credentials (a custom URL must not ride on the visitor's cookies).
 */
import { WeightDownloadError, WeightFileError, errorMessage } from './errors.ts';

export type FetchFn = (url: string, init?: RequestInit) => Promise<Response>;

export interface ContentRange {
  start: number;
  /** Inclusive, as in the header. */
  end: number;
  /** null for `*` (unknown length). */
  total: number | null;
}

/** Parses `bytes a-b/n` (or `bytes a-b/*`); null for anything else. */
export function parseContentRange(header: string | null): ContentRange | null {
  const match = header ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/i.exec(header.trim()) : null;
  if (!match) return null;
  const [, start = '', end = '', total = ''] = match;
  return {
    start: Number(start),
    end: Number(end),
    total: total === '*' ? null : Number(total),
  };
}

/** Status codes that another attempt may fix: timeouts, rate limits and server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** An HTTP error answer as an error that names the file and says whether to retry. */
export function statusError(path: string, url: string, response: Response): WeightDownloadError {
  const status = `HTTP ${response.status} ${response.statusText}`.trim();
  const hint =
    response.status === 404
      ? ' (no such file: check the model URL)'
      : response.status === 401 || response.status === 403
        ? ' (the host refuses access: a gated or private model?)'
        : '';
  return new WeightDownloadError(
    `${path}: ${url} answered ${status}${hint}`,
    isRetryableStatus(response.status),
  );
}

/** A fetch that failed before any answer: offline, DNS, CORS, reset. Worth retrying. */
export function networkError(path: string, url: string, error: unknown): WeightDownloadError {
  return new WeightDownloadError(`${path}: could not reach ${url} (${errorMessage(error)})`, true);
}

/** The server labels the answer as a web page. */
export function isHtmlResponse(response: Response): boolean {
  return /^\s*(text\/html|application\/xhtml)/i.test(response.headers.get('Content-Type') ?? '');
}

/**
 * What the first bytes of a body say when it is not a model file: an HTML page (a wrong URL,
 * a login or error page served with 200) or a Git LFS pointer (the repository's text stand-in
 * for a large file). undefined when it looks like data.
 */
export function recognizeNonModelBytes(head: Uint8Array): 'html' | 'lfs-pointer' | undefined {
  const text = new TextDecoder().decode(head.subarray(0, 64)).trimStart().toLowerCase();
  if (text.startsWith('<!doctype html') || text.startsWith('<html') || text.startsWith('<head')) {
    return 'html';
  }
  if (text.startsWith('version https://git-lfs')) return 'lfs-pointer';
  return undefined;
}

export function htmlPageError(path: string, url: string): WeightFileError {
  return new WeightFileError(
    `${path}: ${url} answered with an HTML page, not the file (a wrong URL, or an error or login page?)`,
  );
}

/**
 * The size of a remote file, or null when the server says it does not exist (404/410).
 * HEAD first; where HEAD gives no usable length (some hosts refuse HEAD, or answer it
 * compressed), a one-byte range request reads the total from Content-Range.
 */
export async function remoteFileSize(
  path: string,
  url: string,
  fetchFn: FetchFn,
  signal?: AbortSignal,
): Promise<number | null> {
  const request = async (init: RequestInit): Promise<Response> => {
    try {
      return await fetchFn(url, { credentials: 'omit', signal, ...init });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw networkError(path, url, error);
    }
  };
  const head = await request({ method: 'HEAD' });
  if (head.status === 404 || head.status === 410) return null;
  if (head.ok) {
    if (isHtmlResponse(head)) throw htmlPageError(path, url);
    const length = head.headers.get('Content-Length');
    const encoded = head.headers.get('Content-Encoding');
    if (length !== null && /^\d+$/.test(length) && (!encoded || encoded === 'identity')) {
      return Number(length);
    }
  }
  const probe = await request({ headers: { Range: 'bytes=0-0' } });
  // Only the headers are wanted; drop the body without reading it.
  void probe.body?.cancel().catch(() => {});
  if (probe.status === 404 || probe.status === 410) return null;
  if (isHtmlResponse(probe)) throw htmlPageError(path, url);
  if (probe.status === 206) {
    const range = parseContentRange(probe.headers.get('Content-Range'));
    if (range?.total != null) return range.total;
  } else if (probe.ok) {
    const length = probe.headers.get('Content-Length');
    if (length !== null && /^\d+$/.test(length)) return Number(length);
  } else {
    throw statusError(path, url, probe);
  }
  throw new WeightDownloadError(
    `${path}: ${url} does not say how large it is (no Content-Length or Content-Range)`,
  );
}
