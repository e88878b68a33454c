import {
  useCallback,
  useEffect,
  useId,
  useLayoutEffect,
  useRef,
  useState,
  type DragEvent,
} from 'react';
import { useAppStore } from '../state/react';
import {
  MAX_STRENGTH,
  MIN_STRENGTH,
  denoisingSummary,
  imageToImageBlocker,
  type InputImageState,
} from '../state/input-image';
import { decodeImageFile, firstImageFile } from './decode-image';

/**
 * Image-to-image: the input image (file picker, drag and drop, paste, or the current output),
 * its crop as the model will see it, and the strength.
 */
export function InputImagePanel() {
  const id = useId();
  const inputImage = useAppStore((s) => s.inputImage);
  const strength = useAppStore((s) => s.strength);
  const steps = useAppStore((s) => s.steps);
  const hasFrame = useAppStore((s) => s.frame !== null);
  const modelLacksEncoder = useAppStore((s) => s.model !== null && !s.model.imageToImage);
  const missingDetail = useAppStore((s) => s.model?.imageToImageMissing ?? null);
  const blocker = useAppStore(imageToImageBlocker);
  const setInputImage = useAppStore((s) => s.setInputImage);
  const clearInputImage = useAppStore((s) => s.clearInputImage);
  const takeFrameAsInput = useAppStore((s) => s.takeFrameAsInput);
  const setStrength = useAppStore((s) => s.setStrength);
  const fileInput = useRef<HTMLInputElement>(null);
  const [decodeError, setDecodeError] = useState<string | null>(null);
  const [decoding, setDecoding] = useState(false);
  const [dragOver, setDragOver] = useState(false);

  const load = useCallback(
    async (file: File, name: string) => {
      setDecoding(true);
      setDecodeError(null);
      try {
        setInputImage(await decodeImageFile(file), name);
      } catch (error) {
        setDecodeError(error instanceof Error ? error.message : String(error));
      } finally {
        setDecoding(false);
      }
    },
    [setInputImage],
  );

  // Paste anywhere on the page; text pastes (into the prompt) carry no image file and pass by.
  useEffect(() => {
    const onPaste = (event: ClipboardEvent) => {
      const file = firstImageFile(event.clipboardData?.files);
      if (!file) return;
      event.preventDefault();
      void load(file, file.name && file.name !== 'image.png' ? file.name : 'pasted image');
    };
    window.addEventListener('paste', onPaste);
    return () => window.removeEventListener('paste', onPaste);
  }, [load]);

  const onDrop = (event: DragEvent<HTMLElement>) => {
    event.preventDefault();
    setDragOver(false);
    const file = firstImageFile(event.dataTransfer.files);
    if (file) void load(file, file.name);
    else setDecodeError('Drop an image file (PNG, JPEG, WebP or GIF).');
  };

  return (
    <section
      className={`panel input-image-panel${dragOver ? ' drag-over' : ''}`}
      aria-labelledby={`${id}-title`}
      data-testid="input-image-panel"
      onDragOver={(event) => {
        event.preventDefault();
        setDragOver(true);
      }}
      onDragLeave={() => setDragOver(false)}
      onDrop={onDrop}
    >
      <h2 id={`${id}-title`} className="panel-title">
        Input image (image-to-image)
      </h2>

      {inputImage ? (
        <InputPreview image={inputImage} />
      ) : (
        <p className="hint drop-hint">
          Optional: start from an image. Drop one here, paste it (<kbd>Ctrl</kbd>/<kbd>⌘</kbd> +{' '}
          <kbd>V</kbd>), choose a file, or use the current output.
        </p>
      )}

      <div className="input-image-actions">
        <input
          ref={fileInput}
          type="file"
          accept="image/*"
          hidden
          data-testid="input-file"
          onChange={(event) => {
            const file = event.target.files?.[0];
            if (file) void load(file, file.name);
            event.target.value = ''; // picking the same file again still loads it
          }}
        />
        <button type="button" onClick={() => fileInput.current?.click()} disabled={decoding}>
          {decoding ? 'Reading…' : 'Choose image…'}
        </button>
        <button
          type="button"
          data-testid="use-output"
          disabled={!hasFrame}
          title="Use the image on the right as the input image"
          onClick={() => takeFrameAsInput()}
        >
          Use output as input
        </button>
        {inputImage && (
          <button type="button" data-testid="input-clear" onClick={clearInputImage}>
            Remove
          </button>
        )}
      </div>

      {decodeError && (
        <p className="hint warn" role="alert" data-testid="input-error">
          {decodeError}
        </p>
      )}

      {inputImage && (
        <div className="field">
          <label htmlFor={`${id}-strength`}>
            Strength <output htmlFor={`${id}-strength`}>{strength.toFixed(2)}</output>
          </label>
          <input
            id={`${id}-strength`}
            data-testid="strength"
            type="range"
            min={MIN_STRENGTH}
            max={MAX_STRENGTH}
            step={0.05}
            value={strength}
            onChange={(event) => setStrength(Number(event.target.value))}
            aria-describedby={`${id}-strength-hint`}
          />
          <p id={`${id}-strength-hint`} className="hint" data-testid="strength-hint">
            {denoisingSummary(steps, strength)}. Low strength keeps more of the image; 1 redraws it
            from noise.
          </p>
        </div>
      )}

      {blocker && (
        <p className="hint warn" role="alert" data-testid="img2img-blocked">
          {blocker}
          {modelLacksEncoder && missingDetail ? (
            <span className="input-image-detail"> ({missingDetail})</span>
          ) : null}
        </p>
      )}
    </section>
  );
}

/** The fitted image 1:1 (what the model gets), and where it was cut from the source. */
function InputPreview({ image }: { image: InputImageState }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const { fitted, crop, source } = image;

  useLayoutEffect(() => {
    const canvas = canvasRef.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return;
    canvas.width = fitted.width;
    canvas.height = fitted.height;
    const pixels = new Uint8ClampedArray(fitted.data); // ImageData wants its own clamped copy
    ctx.putImageData(new ImageData(pixels, fitted.width, fitted.height), 0, 0);
  }, [fitted]);

  const cropped = crop.width !== source.width || crop.height !== source.height;
  return (
    <figure className="input-image-figure">
      <canvas
        ref={canvasRef}
        data-testid="input-preview"
        data-version={image.version}
        role="img"
        aria-label={`Input image, as the model sees it: ${image.name}`}
      />
      <figcaption className="hint" data-testid="input-caption">
        {image.name}: {source.width}×{source.height}
        {cropped
          ? `, centre crop ${crop.width}×${crop.height} at (${crop.x}, ${crop.y})`
          : ', whole image'}
        , scaled to {fitted.width}×{fitted.height}.
      </figcaption>
    </figure>
  );
}
