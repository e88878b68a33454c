import { useId, useState } from 'react';
import { useAppStore } from '../state/react';
import { backendLabel, dtypeLabel, formatBytes, modelLoadedText } from './format';
import { describeActiveModel } from './model-choice';
import { useModelName } from './use-model-name';
import { ModelChooser } from './ModelChooser';
import { LoadStageLine } from './LoadStageLine';
import {
  DownloadPlanPrompt,
  DownloadProgressView,
  StoredModels,
  formatDuration,
} from './ModelStorage';

/**
 * The model panel, first on the page. Without a model it is the choice of one (or, while a
 * model is planned, downloaded or loaded, where that stands); once a model is ready it folds
 * to one line (which model, stored or streamed, size, Change) so the prompt and image get the
 * room. The full panel stays in the page while folded, only hidden.
 */
export function ModelSettings() {
  const id = useId();
  const modelId = useAppStore((s) => s.model?.id ?? null);
  const busy = useAppStore(
    (s) => s.planning !== null || s.downloadPlan !== null || s.download !== null || s.load !== null,
  );
  // Which loaded model the panel was opened for with Change: a newly loaded one folds it again.
  const [openedFor, setOpenedFor] = useState<number | null>(null);
  const changing = openedFor !== null && openedFor === modelId;
  const ready = modelId !== null;
  const folded = ready && !changing && !busy;
  const state = folded ? 'folded' : busy ? 'busy' : 'choosing';

  return (
    <section
      className={`panel model-panel ${state}`}
      aria-labelledby={`${id}-title`}
      data-testid="model-panel"
      data-state={state}
    >
      {ready ? (
        <ModelSummary
          titleId={`${id}-title`}
          bodyId={`${id}-body`}
          expanded={!folded}
          onToggle={() => setOpenedFor(changing ? null : modelId)}
        />
      ) : (
        <h2 id={`${id}-title`} className="panel-title">
          Model
        </h2>
      )}
      <div id={`${id}-body`} className="model-body" hidden={folded}>
        {busy ? <ModelActivity /> : <ModelChooser />}
        <StoredModels />
      </div>
    </section>
  );
}

/** One line for the loaded model: name, stored or streamed, size, backend, and Change. */
function ModelSummary(props: {
  titleId: string;
  bodyId: string;
  expanded: boolean;
  onToggle: () => void;
}) {
  const model = useAppStore((s) => s.model);
  const hosted = useAppStore((s) => s.hostedModels);
  const stored = useAppStore((s) => s.storedModels);
  if (!model) return null;
  const about = describeActiveModel(model.baseUrl, hosted, stored, model.bytes);
  const backend = model.backend === 'wasm' ? 'WebAssembly (slow fallback)' : backendLabel('webgpu');
  return (
    <div className="model-summary" data-testid="model-summary">
      <h2 id={props.titleId} className="panel-title">
        Model
      </h2>
      <span className="summary-name" title={model.baseUrl} data-testid="model-name">
        {about.name}
      </span>
      <span className="summary-fact" data-testid="model-kept" data-stored={about.stored}>
        {about.stored ? 'stored' : 'streamed'}
      </span>
      {about.bytes !== null && <span className="summary-fact">{formatBytes(about.bytes)}</span>}
      <span
        className="summary-fact summary-backend"
        data-testid="model-info"
        data-backend={model.backend}
        data-dtype={model.dtype}
        title={modelLoadedText(model.backend, model.dtype, model.loadMs)}
      >
        {backend}, {dtypeLabel(model.dtype)}
      </span>
      <button
        type="button"
        className="summary-change"
        data-testid="model-change"
        aria-expanded={props.expanded}
        aria-controls={props.bodyId}
        onClick={props.onToggle}
      >
        {props.expanded ? 'Close' : 'Change'}
      </button>
    </div>
  );
}

/** Where a model's planning, download or load stands, in the place the choice was made. */
function ModelActivity() {
  const planning = useAppStore((s) => s.planning);
  const name = useModelName(planning?.baseUrl ?? null);
  if (planning) {
    return (
      <p className="model-activity-line" data-testid="planning" aria-live="polite">
        <span className="spinner dark" aria-hidden="true" /> Checking what <strong>{name}</strong>{' '}
        needs…
      </p>
    );
  }
  return (
    <>
      <DownloadPlanPrompt />
      <DownloadProgressView />
      <LoadProgress />
    </>
  );
}

/** Loading a model: each file's bytes, the total with the time left, then the GPU stage. */
function LoadProgress() {
  const load = useAppStore((s) => s.load);
  const name = useModelName(load?.baseUrl ?? null);
  if (!load) return null;
  const loaded = load.files.reduce((sum, f) => sum + f.loadedBytes, 0);
  const total = load.files.reduce((sum, f) => sum + f.totalBytes, 0);
  const allKnown = load.files.length > 0 && load.files.every((f) => f.totalBytes > 0);
  const left = load.secondsLeft ?? null;
  const filesDone = allKnown && loaded >= total;
  return (
    <div className="load-progress" data-testid="load-progress" aria-live="polite">
      <p className="model-activity-line">
        <span className="spinner dark" aria-hidden="true" />
        <span data-testid="load-stage" data-stage={filesDone ? 'prepare' : 'files'}>
          {load.files.length === 0
            ? `Loading ${name}…`
            : filesDone
              ? `Preparing ${name} on the ${load.backend === 'wasm' ? 'CPU' : 'GPU'}…`
              : `Loading ${name}: ${formatBytes(loaded)}${allKnown ? ` / ${formatBytes(total)}` : ' so far'}${left !== null && left > 0 ? ` · ${formatDuration(left)} left` : ''}`}
        </span>
      </p>
      {allKnown && <progress aria-label="Model load" max={total} value={loaded} />}
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
