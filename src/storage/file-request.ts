/**
 * Fetching a manifest file (or a byte range of it) for a download, and the checks every answer
 * gets before its bytes are stored: the status, not a web page, the range that was asked for,
 * the length the manifest gives, and the first bytes; and what a failed attempt leads to. Both ways of storing a file (as it is,
 * ./file-download.ts, and converted to fp16, ./fp16-file-download.ts) fetch through here, so a
 * host's quirks are handled once.
 */
import { WeightDownloadError, WeightFileError, errorMessage } from './errors.ts';
import {
  htmlPageError,
  isHtmlResponse,
  networkError,
  parseContentRange,
  recognizeNonModelBytes,
  statusError,
  type FetchFn,
} from './http-file.ts';
import type { FileDownloadContext } from './file-download.ts';
import type { ManifestFile } from './manifest.ts';

/** Bytes [start, stop) of the file; the whole file unless a range is given. */
export async function fetchFile(
  fetch: FetchFn,
  file: ManifestFile,
  signal: AbortSignal,
  start = 0,
  stop = file.bytes,
): Promise<Response> {
  const ranged = start > 0 || stop < file.bytes;
  try {
    return await fetch(file.url, {
      credentials: 'omit',
      // The bytes go to IndexedDB; a second copy in the HTTP cache would only cost disk.
      cache: 'no-store',
      signal,
      ...(ranged ? { headers: { Range: `bytes=${start}-${stop - 1}` } } : {}),
    });
  } catch (error) {
    if (signal.aborted) throw error;
    throw networkError(file.path, file.url, error);
  }
}

/** Drops an answer's body that will not be read. */
export function discardBody(response: Response): void {
  void response.body?.cancel().catch(() => {});
}

/**
 * Throws (after dropping the body) when the answer to a fetchFile of [start, stop) cannot be
 * the file: an error status, a web page, a range other than the one asked for, or a whole-file
 * answer whose Content-Length is not the manifest's size. A 200 to a range request is a host
 * that ignores Range: it passes, and the caller reads the body from the file's start.
 */
export function checkFileAnswer(
  file: ManifestFile,
  response: Response,
  start = 0,
  stop = file.bytes,
): void {
  const fail = (error: Error): never => {
    discardBody(response);
    throw error;
  };
  if (!response.ok) fail(statusError(file.path, file.url, response));
  if (isHtmlResponse(response)) fail(htmlPageError(file.path, file.url));
  const ranged = start > 0 || stop < file.bytes;
  if (ranged && response.status !== 200 && response.status !== 206) {
    fail(
      new WeightDownloadError(
        `${file.path}: ${file.url} answered a range request with HTTP ${response.status}`,
      ),
    );
  }
  if (response.status === 206) {
    // Content-Range is readable cross-origin only where the host exposes it (Hugging Face
    // does); without it the body's length still has to match.
    const header = response.headers.get('Content-Range');
    const range = parseContentRange(header);
    if (
      header !== null &&
      (!range ||
        range.start !== start ||
        range.end !== stop - 1 ||
        (range.total !== null && range.total !== file.bytes))
    ) {
      fail(
        new WeightFileError(
          `${file.path}: asked ${file.url} for bytes ${start}-${stop - 1} of ${file.bytes}, got "${header}"`,
        ),
      );
    }
    return;
  }
  // The whole file: a declared length other than the manifest's is another file. A compressed
  // transfer declares the compressed length; the body's length is checked as it is read.
  const declared = response.headers.get('Content-Length');
  const encoding = response.headers.get('Content-Encoding');
  if (declared === null || (encoding && encoding !== 'identity')) return;
  if (Number(declared) !== file.bytes) {
    fail(
      new WeightFileError(
        `${file.path}: ${file.url} is ${declared} bytes, the manifest says ${file.bytes}`,
      ),
    );
  }
}

/**
 * The body's pieces. A read that fails midway is a dropped connection: worth another (ranged)
 * attempt. A read also ends when `signal` aborts: Node's fetch leaves a read pending forever
 * when the request is aborted after the whole body has arrived. Leaving the loop early (or an
 * error) cancels the body.
 */
export async function* bodyPieces(
  response: Response,
  file: ManifestFile,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array, void, undefined> {
  if (!response.body) throw new WeightDownloadError(`${file.path}: ${file.url} sent no body`, true);
  const reader = response.body.getReader();
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {}); // raced below; no unhandled-rejection noise when nobody waits
  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await Promise.race([reader.read(), aborted]);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        throw new WeightDownloadError(
          `${file.path}: the connection to ${file.url} broke (${errorMessage(error)})`,
          true,
        );
      }
      if (result.done) return;
      yield result.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    void reader.cancel().catch(() => {});
  }
}

/** An HTML page is never a model file; a Git LFS pointer is never a graph or weights. */
export function checkFirstBytes(file: ManifestFile, head: Uint8Array): void {
  const kind = recognizeNonModelBytes(head);
  if (kind === 'html') throw htmlPageError(file.path, file.url);
  if (
    kind === 'lfs-pointer' &&
    (file.role === 'graph' || file.role === 'external-data' || file.role === 'weights')
  ) {
    throw new WeightFileError(
      `${file.path}: ${file.url} sent a Git LFS pointer (a small text stand-in), not the file itself`,
    );
  }
}

/**
 * After a failed attempt: a pause or cancel (the attempt's signal aborted) is no failure, an
 * error another attempt cannot fix is thrown, and a retryable one is counted and waited out
 * (or thrown once `maxAttempts` have failed). Returns the failures counted so far.
 */
export async function failedAttempt(
  error: unknown,
  signal: AbortSignal,
  failures: number,
  ctx: Pick<FileDownloadContext, 'maxAttempts' | 'retryDelayMs' | 'delay'>,
): Promise<number> {
  if (signal.aborted) return failures; // paused (or cancelled: runnable() says so)
  if (!(error instanceof WeightDownloadError && error.retryable)) throw error;
  const counted = failures + 1;
  if (counted >= ctx.maxAttempts) {
    throw new WeightDownloadError(
      `${error.message} (gave up after ${counted} attempt${counted === 1 ? '' : 's'})`,
    );
  }
  // Paused or cancelled while waiting: the caller's next runnable() says which.
  await ctx.delay(ctx.retryDelayMs(counted - 1), signal).catch(() => {});
  return counted;
}
