import { useEffect, useState } from 'react';
import { useAppStore } from '../state/react';
import { assessHostedModel, recommendHostedModel, type FitVerdict } from '../state/model-fit';
import { formatBytes } from './format';

const VERDICT: Record<FitVerdict, string> = {
  good: 'should fit',
  tight: 'may not fit',
  slow: 'fallback only',
  unknown: 'unknown',
};

interface StorageFigures {
  used: number;
  free: number;
}

/**
 * The browser's storage estimate for this site (all of it: models, history, app cache), asked
 * again whenever `changed` changes (a model stored or deleted).
 */
function useStorageEstimate(changed: unknown): StorageFigures | null {
  const [figures, setFigures] = useState<StorageFigures | null>(null);
  useEffect(() => {
    let alive = true;
    const estimate = globalThis.navigator?.storage?.estimate;
    if (!estimate) return;
    navigator.storage
      .estimate()
      .then(({ usage = 0, quota = 0 }) => {
        if (alive) setFigures({ used: usage, free: Math.max(0, quota - usage) });
      })
      .catch(() => {});
    return () => {
      alive = false;
    };
  }, [changed]);
  return figures;
}

/**
 * What this device offers the model: the WebGPU adapter, shader-f16, buffer limits, storage,
 * and for each hosted build an estimate of whether it fits (the same rule that picks the
 * recommended build: src/state/model-fit.ts).
 */
export function CapabilityPanel() {
  const caps = useAppStore((s) => s.capabilities);
  const hosted = useAppStore((s) => s.hostedModels);
  const workerFree = useAppStore((s) => s.storageFreeBytes);
  const modelBytes = useAppStore((s) => s.storageUsedBytes);
  const estimate = useStorageEstimate(modelBytes);
  const free = estimate?.free ?? workerFree;
  const recommended = recommendHostedModel(hosted, caps);
  const bytes = (n: number | null | undefined) => (n ? formatBytes(n) : 'unknown');
  const rows: [string, string][] = caps
    ? [
        ['WebGPU', caps.webgpu ? 'yes' : 'no'],
        ['Vendor', caps.vendor || (caps.webgpu ? 'not disclosed' : '–')],
        ['Architecture', caps.architecture || (caps.webgpu ? 'not disclosed' : '–')],
        ['shader-f16', caps.shaderF16 ? 'yes' : 'no'],
        ['Largest buffer', bytes(caps.maxBufferSize)],
        ['Largest storage binding', bytes(caps.maxStorageBufferBindingSize)],
        ['Storage used', estimate ? formatBytes(estimate.used) : 'unknown'],
        ['Storage free', free !== null ? formatBytes(free) : 'unknown'],
      ]
    : [];
  return (
    <details className="panel capability-panel" data-testid="capability-panel">
      <summary>
        <h2 className="panel-title">This device</h2>
      </summary>
      {!caps && <p className="hint">Checking this browser…</p>}
      {caps && (
        <dl className="facts">
          {rows.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      )}
      {hosted.length > 0 && (
        <>
          <h3 className="panel-subtitle">Hosted builds on this device (estimate)</h3>
          <ul className="fit-list">
            {hosted.map((m) => {
              const fit = assessHostedModel(m, caps, free);
              return (
                <li key={m.modelId} data-testid="model-fit" data-verdict={fit.verdict}>
                  <strong>{m.displayName}</strong> (~{formatBytes(m.approxBytes)}):{' '}
                  {VERDICT[fit.verdict]}
                  {m === recommended && <span className="badge">recommended</span>}
                  <br />
                  <span className="hint">{fit.notes.join(' ')}</span>
                </li>
              );
            })}
          </ul>
        </>
      )}
    </details>
  );
}
