import { useId, type FormEvent } from 'react';
import { useAppStore } from '../state/react';
import { canLoad } from '../state/store';
import { BACKEND_CHOICES } from '../state/settings';
import { formatBytes, modelLoadedText } from './format';
import { HostedModels } from './HostedModels';
import { LoadStageLine } from './LoadStageLine';
import { ModelStorage } from './ModelStorage';

/** Model URL, backend choice, the Load button, load progress and what got loaded. */
export function ModelSettings() {
  const id = useId();
  const modelUrl = useAppStore((s) => s.modelUrl);
  const backendChoice = useAppStore((s) => s.backendChoice);
  const loading = useAppStore((s) => s.load !== null || s.planning !== null || s.download !== null);
  const enabled = useAppStore(canLoad);
  const setModelUrl = useAppStore((s) => s.setModelUrl);
  const setBackendChoice = useAppStore((s) => s.setBackendChoice);
  const loadModel = useAppStore((s) => s.loadModel);

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    loadModel();
  };

  return (
    <section className="panel" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="panel-title">
        Model
      </h2>
      <form onSubmit={onSubmit} className="model-form">
        <div className="field">
          <label htmlFor={`${id}-url`}>Model base URL</label>
          <input
            id={`${id}-url`}
            data-testid="model-url"
            type="text"
            inputMode="url"
            autoComplete="url"
            spellCheck={false}
            placeholder="https://example.com/models/sdxl-turbo-onnx/"
            value={modelUrl}
            onChange={(e) => setModelUrl(e.target.value)}
            aria-describedby={`${id}-url-hint`}
          />
          <p id={`${id}-url-hint`} className="hint">
            {modelUrl.trim() === '' ? 'No model yet. ' : ''}
            The folder of an SDXL Turbo export in the diffusers/optimum ONNX layout (
            <code>tokenizer/</code>, <code>text_encoder/</code>, <code>text_encoder_2/</code>,{' '}
            <code>unet/</code>, <code>vae_decoder/</code>).
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${id}-backend`}>Backend</label>
          <select
            id={`${id}-backend`}
            data-testid="backend"
            value={backendChoice}
            disabled={loading}
            onChange={(e) => setBackendChoice(e.target.value)}
          >
            {BACKEND_CHOICES.map((b) => (
              <option key={b.value} value={b.value}>
                {b.label}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" data-testid="load-model" disabled={!enabled} className="load-button">
          {loading ? 'Loading…' : 'Load model'}
        </button>
      </form>
      <HostedModels />
      <ModelStorage />
      <LoadProgress />
      <ModelInfo />
    </section>
  );
}

function LoadProgress() {
  const load = useAppStore((s) => s.load);
  if (!load) return null;
  const loaded = load.files.reduce((sum, f) => sum + f.loadedBytes, 0);
  return (
    <div className="load-progress" data-testid="load-progress" aria-live="polite">
      <p className="hint">
        Downloading {load.files.length === 0 ? '…' : `${formatBytes(loaded)} so far`}
      </p>
      <LoadStageLine />
      <ul className="file-list">
        {load.files.map((f) => {
          const known = f.totalBytes > 0;
          return (
            <li key={f.file} data-file={f.file}>
              <div className="file-line">
                <span className="file-name">{f.file}</span>
                <span className="file-bytes">
                  {formatBytes(f.loadedBytes)}
                  {known && ` / ${formatBytes(f.totalBytes)}`}
                </span>
              </div>
              <progress
                aria-label={`Download of ${f.file}`}
                max={known ? f.totalBytes : undefined}
                value={known ? f.loadedBytes : undefined}
              />
            </li>
          );
        })}
      </ul>
    </div>
  );
}

function ModelInfo() {
  const model = useAppStore((s) => s.model);
  if (!model) return null;
  return (
    <p
      className="model-info"
      data-testid="model-info"
      data-backend={model.backend}
      data-dtype={model.dtype}
    >
      {modelLoadedText(model.backend, model.dtype, model.loadMs)}
    </p>
  );
}
