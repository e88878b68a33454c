import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { StageTimings } from '../protocol/messages';
import { useAppStore, useHistory, useOptionalHistoryStore } from '../state/react';
import type { Frame } from '../state/store';
import { backendLabel, formatMs } from './format';
import { ImageActions } from './ImageActions';
import { usePngUrl } from './object-url';

/** Paints RGBA8 pixels 1:1 and tags the canvas so tests can wait for a given frame. */
export function paintFrame(canvas: HTMLCanvasElement, frame: Frame): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('This browser cannot draw on a 2D canvas.');
  // Resizing a canvas clears it, so only do it when the size changes.
  if (canvas.width !== frame.width) canvas.width = frame.width;
  if (canvas.height !== frame.height) canvas.height = frame.height;
  const image = new ImageData(new Uint8ClampedArray(frame.pixels), frame.width, frame.height);
  ctx.putImageData(image, 0, 0);
  canvas.dataset.frameId = String(frame.id);
  canvas.dataset.seed = String(frame.params.seed);
  canvas.dataset.backend = frame.backend;
  // Which decoder made it (tests wait on these): 'taesd' previews, 'vae' the full decode.
  canvas.dataset.decoder = frame.decoder ?? 'vae';
  if (frame.preview) canvas.dataset.previewStep = `${frame.preview.step}/${frame.preview.steps}`;
  else delete canvas.dataset.previewStep;
}

/** The canvas's caption: which decoder made the picture. */
function decoderLabel(frame: Frame): string {
  if (frame.preview) {
    return `Preview (TAESDXL) after step ${frame.preview.step} of ${frame.preview.steps}`;
  }
  return frame.decoder === 'taesd' ? 'Preview (TAESDXL)' : 'Full VAE';
}

/** The latest picture, a placeholder before the first one, and the frame's timings. */
export function OutputPanel() {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const reportError = useAppStore((s) => s.reportError);
  const frame = useAppStore((s) => s.frame);
  const generating = useAppStore((s) => s.status === 'generating');
  const history = useOptionalHistoryStore();
  // Painting happens here on the page, after the worker's timings were taken.
  const [paint, setPaint] = useState<{ id: number; ms: number } | null>(null);

  useLayoutEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || !frame) return;
    const started = performance.now();
    try {
      paintFrame(canvas, frame);
    } catch (err) {
      const message = `Could not paint frame ${frame.id}: ${String(err)}`;
      reportError({ code: 'internal', message, requestId: frame.id });
    }
    // Paint: putImageData until the next animation frame (the picture is on screen then).
    const raf = requestAnimationFrame(() =>
      setPaint({ id: frame.id, ms: performance.now() - started }),
    );
    return () => cancelAnimationFrame(raf);
  }, [frame, reportError]);

  return (
    <section className="output" aria-label="Generated image">
      {history && <ShownHistoryImage />}
      <div className={frame ? 'canvas-frame' : 'canvas-frame empty'}>
        <canvas
          ref={canvasRef}
          data-testid="output"
          hidden={!frame}
          role="img"
          aria-label={frame ? `Generated image: ${frame.params.prompt}` : 'No image yet'}
        />
        {!frame && (
          <p className="placeholder" data-testid="placeholder">
            Your image appears here. Load a model, write a prompt and press Generate.
          </p>
        )}
        {frame && (
          <div
            className={`decoder-badge${frame.decoder === 'taesd' ? ' preview' : ''}`}
            data-testid="decoder-badge"
          >
            {decoderLabel(frame)}
          </div>
        )}
        {generating && (
          <div className="busy-badge" aria-hidden="true">
            <span className="spinner" /> Generating…
          </div>
        )}
      </div>
      {history && <ImageActionsWhenShown hasFrame={frame !== null} />}
      {frame?.timings && (
        <div className="frame-meta">
          <Timings
            timings={frame.timings}
            backend={backendLabel(frame.backend)}
            backendId={frame.backend}
            latencyMs={frame.latencyMs}
            paintMs={paint?.id === frame.id ? paint.ms : null}
          />
        </div>
      )}
    </section>
  );
}

function Timings({
  timings,
  backend,
  backendId,
  latencyMs,
  paintMs,
}: {
  timings: StageTimings;
  backend: string;
  backendId: string;
  latencyMs: number | null;
  paintMs: number | null;
}) {
  const rows: [string, number | string][] = [
    ['Tokenize', timings.tokenize],
    ['Text encoders', timings.promptCached ? 'cached' : timings.textEncoders],
    ...(timings.vaeEncode !== undefined
      ? [
          ['VAE encode (input)', timings.imageCached ? 'cached' : timings.vaeEncode] as [
            string,
            number | string,
          ],
        ]
      : []),
    ...timings.unetSteps.map((ms, i): [string, number] => [`UNet step ${i + 1}`, ms]),
    ['VAE decode', timings.vaeDecode],
    // GPU-resident runs: the wait for the final pixels (GPU work still queued ends here).
    ...(timings.readback !== undefined
      ? [['GPU readback', timings.readback] as [string, number]]
      : []),
    ['To pixels', timings.toPixels],
    ...(paintMs !== null ? [['Paint', paintMs] as [string, number]] : []),
  ];
  return (
    <div className="timings" data-testid="timings" data-backend={backendId}>
      <p className="timings-title">
        Made on <strong>{backend}</strong> in <strong>{formatMs(timings.total)}</strong>
      </p>
      <dl>
        {rows.map(([label, ms]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>{typeof ms === 'string' ? ms : formatMs(ms)}</dd>
          </div>
        ))}
        <div className="total">
          <dt>Total</dt>
          <dd>{formatMs(timings.total)}</dd>
        </div>
        {latencyMs !== null && (
          <div className="total" title="From the edit that asked for this image to the image">
            <dt>Edit to image</dt>
            <dd data-testid="latency">{formatMs(latencyMs)}</dd>
          </div>
        )}
      </dl>
      <LiveStats />
    </div>
  );
}

/** How live mode paced the work: edits asked for images, how many ran and how many were skipped. */
function LiveStats() {
  const stats = useAppStore((s) => s.stats);
  return (
    <p
      className="hint"
      data-testid="live-stats"
      data-requested={stats.requested}
      data-started={stats.started}
      data-finished={stats.finished}
      data-superseded={stats.superseded}
    >
      {stats.requested} requested · {stats.started} generated · {stats.superseded} skipped as
      superseded
    </p>
  );
}

/** The actions need an image: the frame, or a history item restored before any frame. */
function ImageActionsWhenShown({ hasFrame }: { hasFrame: boolean }) {
  const shown = useHistory((s) => s.shownId !== null);
  return hasFrame || shown ? <ImageActions /> : null;
}

/**
 * A history item the user restored, shown above the live canvas until the next frame arrives
 * (the canvas keeps the newest frame underneath, so tests and Use as input still see it).
 */
function ShownHistoryImage() {
  const shownId = useHistory((s) => s.shownId);
  const entry = useHistory((s) => s.items.find((i) => i.entry.id === s.shownId)?.entry);
  const itemPng = useHistory((s) => s.itemPng);
  const showFrame = useHistory((s) => s.showFrame);
  const [png, setPng] = useState<{ id: string; bytes: Uint8Array } | null>(null);
  useEffect(() => {
    if (shownId === null) return;
    let alive = true;
    void itemPng(shownId).then((bytes) => {
      if (alive && bytes) setPng({ id: shownId, bytes });
    });
    return () => {
      alive = false;
    };
  }, [shownId, itemPng]);
  const url = usePngUrl(png?.id === shownId ? png.bytes : undefined);
  if (shownId === null || !entry) return null;
  return (
    <figure className="history-shown" data-testid="history-shown" data-id={shownId}>
      {url && (
        <img
          src={url}
          width={entry.width}
          height={entry.height}
          alt={`From the history: ${entry.prompt}`}
          data-testid="history-image"
        />
      )}
      <figcaption className="hint">
        From the history, {new Date(entry.createdAt).toLocaleString()}: seed {entry.seed},{' '}
        {entry.steps} step{entry.steps > 1 ? 's' : ''}, {entry.width}×{entry.height}, model{' '}
        {entry.model}.{' '}
        <button type="button" className="link" onClick={showFrame}>
          Back to the latest image
        </button>
      </figcaption>
    </figure>
  );
}
