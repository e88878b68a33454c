import { useState } from 'react';
import { decode } from 'fast-png';
import { useAppStoreApi, useAppStore, useHistory, useHistoryStoreApi } from '../state/react';
import { framePng } from '../state/history';
import { copyPngToClipboard, downloadPng, pngFileName } from './image-files';

/** Decodes a stored PNG for image-to-image (the app writes 8-bit RGBA only). */
function pngToInput(bytes: Uint8Array) {
  const png = decode(bytes);
  if (png.channels !== 4 || png.depth !== 8) throw new Error('not an 8-bit RGBA PNG');
  return { width: png.width, height: png.height, data: new Uint8ClampedArray(png.data) };
}

/**
 * What can be done with the image on show (the newest frame, or a restored history item):
 * Download PNG (with its parameters), Copy, Use as input, and in live mode Keep.
 */
export function ImageActions() {
  const app = useAppStoreApi();
  const history = useHistoryStoreApi();
  const frame = useAppStore((s) => s.frame);
  const live = useAppStore((s) => s.live);
  const shownId = useHistory((s) => s.shownId);
  const shown = useHistory((s) => s.items.find((i) => i.entry.id === s.shownId) ?? null);
  const kept = useHistory((s) => frame !== null && s.keptFrameId === frame.id);
  const [message, setMessage] = useState<string | null>(null);

  /** The shown image's PNG bytes, parameters included. */
  const currentPng = async (): Promise<{ bytes: Uint8Array; seed: number; steps: number }> => {
    if (shownId !== null && shown) {
      const bytes = await history.getState().itemPng(shownId);
      if (!bytes) throw new Error('this image is no longer stored');
      return { bytes, seed: shown.entry.seed, steps: shown.entry.steps };
    }
    if (!frame) throw new Error('no image yet');
    return { bytes: framePng(app.getState(), frame), ...frame.params };
  };

  const run = (work: () => Promise<string | null>) => {
    work().then(setMessage, (err: unknown) =>
      setMessage(`Failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  };

  return (
    <div className="image-actions">
      <div className="button-row">
        <button
          type="button"
          className="secondary"
          data-testid="download"
          onClick={() =>
            run(async () => {
              const png = await currentPng();
              downloadPng(png.bytes, pngFileName(png));
              return null;
            })
          }
        >
          Download PNG
        </button>
        <button
          type="button"
          data-testid="copy-image"
          onClick={() => run(async () => copyPngToClipboard((await currentPng()).bytes))}
        >
          Copy
        </button>
        <button
          type="button"
          data-testid="use-as-input"
          title="Image-to-image: continue from this picture"
          onClick={() =>
            run(async () => {
              const png = await currentPng();
              app.getState().setInputImage(pngToInput(png.bytes), `image (seed ${png.seed})`);
              return 'Now the input image: see Input image.';
            })
          }
        >
          Use as input
        </button>
        {live && shownId === null && (
          <button
            type="button"
            data-testid="keep"
            disabled={kept}
            title="Live mode keeps nothing by itself: store this image in the history"
            onClick={() =>
              run(async () => {
                await history.getState().keepFrame();
                return null;
              })
            }
          >
            {kept ? 'Kept' : 'Keep'}
          </button>
        )}
      </div>
      <p className="hint" role="status" data-testid="image-action-message">
        {message}
      </p>
    </div>
  );
}
