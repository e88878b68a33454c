import type { TransferFigures } from '../protocol/messages';
import { useAppStore } from '../state/react';
import { formatBytes } from './format';
import { useModelName } from './use-model-name';

/*
 * Keeping models in this browser: what a download will store (before it starts), its progress
 * with pause/resume/cancel, and the stored models with their size, the active one, and delete.
 * The model panel (ModelSettings.tsx) places each part.
 */

export function DownloadPlanPrompt() {
  const plan = useAppStore((s) => s.downloadPlan);
  const confirm = useAppStore((s) => s.confirmDownload);
  const loadWithoutStoring = useAppStore((s) => s.loadWithoutStoring);
  const dismiss = useAppStore((s) => s.dismissPlan);
  const planStoreAsFp16 = useAppStore((s) => s.planStoreAsFp16);
  const name = useModelName(plan?.baseUrl ?? null);
  if (!plan) return null;
  const remaining = (plan.keptBytes ?? plan.totalBytes) - plan.storedBytes;
  const tooBig = plan.freeBytes !== null && remaining > plan.freeBytes;
  return (
    <div
      className="download-plan"
      data-testid="download-plan"
      role="group"
      aria-label="Download the model"
    >
      <h3 className="plan-title" title={plan.baseUrl}>
        {name}
      </h3>
      <p>
        <strong>This model is {formatBytes(plan.totalBytes)}</strong> in {plan.files.length} files.
        {plan.storedBytes > 0 &&
          ` ${formatBytes(plan.storedBytes)} are already stored from an earlier download; it resumes from there.`}
        {plan.keptBytes !== undefined &&
          ` About ${formatBytes(plan.keptBytes)} is kept: the fp32 text encoders and UNet are converted to fp16 as they download (the VAE stays fp32, which fp16 would overflow).`}
      </p>
      <p className="hint">
        Downloaded once and kept in this browser, it loads from disk on every later visit, offline
        too.
        {plan.freeBytes !== null &&
          ` This browser offers ${formatBytes(plan.freeBytes)} of storage.`}
      </p>
      {tooBig && (
        <p className="hint warning" data-testid="plan-too-big">
          Not enough space: {formatBytes(remaining)} needed, {formatBytes(plan.freeBytes ?? 0)}{' '}
          free.
        </p>
      )}
      {plan.canStoreAsFp16 && (
        <label className="hint plan-option">
          <input
            type="checkbox"
            data-testid="store-as-fp16"
            checked={plan.storeAsFp16 ?? false}
            onChange={(e) => planStoreAsFp16(e.target.checked)}
          />{' '}
          Keep as fp16: for an fp32 export, converts the text encoders and UNet while they download
          (about half the storage; running fp16 on the GPU needs shader-f16).
        </label>
      )}
      <div className="button-row">
        <button
          type="button"
          className="primary"
          data-testid="download-confirm"
          onClick={confirm}
          disabled={tooBig}
        >
          Download and keep ({formatBytes(remaining)})
        </button>
        <button type="button" data-testid="load-without-storing" onClick={loadWithoutStoring}>
          Load without storing
        </button>
        <button type="button" className="link" onClick={dismiss}>
          Cancel
        </button>
      </div>
      <details>
        <summary>Files</summary>
        <ul className="file-list">
          {plan.files.map((f) => (
            <li key={f.path} className="file-line">
              <span className="file-name">{f.path}</span>
              <span className="file-bytes">{formatBytes(f.bytes)}</span>
            </li>
          ))}
        </ul>
      </details>
    </div>
  );
}

function figures(t: TransferFigures): string {
  const speed = t.bytesPerSecond > 0 ? ` · ${formatBytes(t.bytesPerSecond)}/s` : '';
  const left =
    t.secondsLeft !== null && t.secondsLeft > 0 ? ` · ${formatDuration(t.secondsLeft)} left` : '';
  return `${formatBytes(t.loadedBytes)} / ${formatBytes(t.totalBytes)}${speed}${left}`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.ceil(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.ceil((seconds % 3600) / 60)} min`;
}

export function DownloadProgressView() {
  const download = useAppStore((s) => s.download);
  const control = useAppStore((s) => s.controlDownload);
  const name = useModelName(download?.baseUrl ?? null);
  if (!download) return null;
  const total = download.total;
  return (
    <div
      className="download-progress"
      data-testid="download-progress"
      data-loaded={total?.loadedBytes ?? 0}
      data-total={total?.totalBytes ?? 0}
      aria-live="polite"
    >
      <p className="model-activity-line">
        {!download.paused && <span className="spinner dark" aria-hidden="true" />}
        {download.paused ? 'Paused: ' : 'Downloading '}
        {name}
        {download.paused ? '' : ' into this browser'}
        {!download.paused && download.converting ? ', converting to fp16' : ''}
      </p>
      <p className="hint">
        <span data-testid="download-total">{total ? figures(total) : 'checking files…'}</span>
      </p>
      <progress
        aria-label="Model download"
        max={total?.totalBytes || undefined}
        value={total ? total.loadedBytes : undefined}
      />
      <ul className="file-list">
        {Object.entries(download.files).map(([path, f]) => (
          <li key={path} data-file={path}>
            <div className="file-line">
              <span className="file-name">{path}</span>
              <span className="file-bytes">{figures(f)}</span>
            </div>
            <progress
              aria-label={`Download of ${path}`}
              max={f.totalBytes || undefined}
              value={f.loadedBytes}
            />
          </li>
        ))}
      </ul>
      <div className="button-row">
        {download.paused ? (
          <button type="button" data-testid="download-resume" onClick={() => control('resume')}>
            Resume
          </button>
        ) : (
          <button type="button" data-testid="download-pause" onClick={() => control('pause')}>
            Pause
          </button>
        )}
        <button type="button" data-testid="download-cancel" onClick={() => control('cancel')}>
          Cancel (keeps what is stored)
        </button>
      </div>
    </div>
  );
}

export function StoredModels() {
  const models = useAppStore((s) => s.storedModels);
  const used = useAppStore((s) => s.storageUsedBytes);
  const free = useAppStore((s) => s.storageFreeBytes);
  const active = useAppStore((s) => s.model?.baseUrl ?? null);
  const remove = useAppStore((s) => s.deleteStoredModel);
  const unavailable = useAppStore((s) => s.storageUnavailable);
  const setModelUrl = useAppStore((s) => s.setModelUrl);
  const loadModel = useAppStore((s) => s.loadModel);
  return (
    <div
      className="stored-models"
      data-testid="stored-models"
      data-count={models.length}
      // Nothing to show before the first download (the list is still there for its tests).
      hidden={models.length === 0 && !unavailable}
    >
      <h3 className="panel-subtitle">Stored in this browser</h3>
      {unavailable ? (
        <p className="hint warning" data-testid="storage-unavailable">
          This browser does not let the app keep models (IndexedDB is unavailable, as in some
          private windows), so a model streams from its host on every visit. It works the same, but
          downloads again each time.
        </p>
      ) : models.length === 0 ? (
        <p className="hint">No model stored yet.</p>
      ) : (
        <ul className="file-list">
          {models.map((m) => (
            <li
              key={m.modelId}
              className="stored-model"
              data-model-id={m.modelId}
              data-complete={m.complete}
            >
              <div className="file-line">
                <span className="file-name" title={m.baseUrl}>
                  {m.displayName}
                  {active === m.baseUrl && <span className="badge">active</span>}
                  {!m.complete && <span className="badge">incomplete</span>}
                </span>
                <span className="file-bytes">{formatBytes(m.storedBytes)}</span>
              </div>
              <div className="button-row">
                <button
                  type="button"
                  onClick={() => {
                    setModelUrl(m.baseUrl);
                    loadModel();
                  }}
                >
                  Load
                </button>
                <button type="button" data-testid="delete-model" onClick={() => remove(m.modelId)}>
                  Delete
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      <p className="hint" data-testid="storage-usage">
        Models use {formatBytes(used)}
        {free !== null && ` · ${formatBytes(free)} free`}.
      </p>
    </div>
  );
}
