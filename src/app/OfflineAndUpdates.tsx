import { useEffect, useSyncExternalStore } from 'react';
import { useStore } from 'zustand';
import { applyUpdate, serviceWorkerState, startServiceWorker } from '../sw/register';
import { useAppStore, useAppStoreApi } from '../state/react';
import type { StoredModelInfo } from '../protocol/messages';
import {
  OFFLINE_NO_MODEL_TEXT,
  READINESS_TEXT,
  showOfflineNoModel,
  storedModelsText,
} from './offline-status';

/**
 * Offline use and updates, at the foot of the page: whether the app starts without a network,
 * which models are stored, the app's version, the "new version" prompt, and what to do when
 * offline with no model stored. Mounting it registers the service worker.
 */
export function OfflineAndUpdates() {
  useEffect(() => startServiceWorker(), []);
  return (
    <>
      <div className="app-notices">
        <UpdateBanner />
        <OfflineNoModel />
      </div>
      <p className="app-meta">
        <OfflineStatus /> <AppVersion />
      </p>
    </>
  );
}

const subscribeOnline = (onChange: () => void) => {
  window.addEventListener('online', onChange);
  window.addEventListener('offline', onChange);
  return () => {
    window.removeEventListener('online', onChange);
    window.removeEventListener('offline', onChange);
  };
};

/** navigator.onLine, kept current (true where there is no navigator, e.g. server rendering). */
export function useOnline(): boolean {
  return useSyncExternalStore(
    subscribeOnline,
    () => navigator.onLine,
    () => true,
  );
}

/**
 * The stored models, or null until the worker has listed them (the store starts with an empty
 * list; the worker's answer replaces it, even when it is empty too).
 */
function useStoredModels(): StoredModelInfo[] | null {
  const initial = useAppStoreApi().getInitialState().storedModels;
  const models = useAppStore((s) => s.storedModels);
  return models === initial ? null : models;
}

/** "App ready offline · stored: tiny-fp32": the app shell is precached; these models load offline. */
function OfflineStatus() {
  const readiness = useStore(serviceWorkerState, (s) => s.offline);
  const error = useStore(serviceWorkerState, (s) => s.error);
  const models = useStoredModels();
  const stored = storedModelsText(models);
  return (
    <span
      className="offline-status"
      data-testid="offline-status"
      data-state={readiness}
      title={error ?? undefined}
    >
      <span className="status-dot" aria-hidden="true" />
      {READINESS_TEXT[readiness]}
      {stored && ` · ${stored}`}
    </span>
  );
}

function AppVersion() {
  return (
    <span className="app-version" data-testid="app-version" title={`Built ${__APP_BUILD_TIME__}`}>
      Version {__APP_VERSION__}
    </span>
  );
}

/** A new deployment is installed and waiting: offered, never applied behind the user's back. */
function UpdateBanner() {
  const ready = useStore(serviceWorkerState, (s) => s.updateReady);
  const applying = useStore(serviceWorkerState, (s) => s.applying);
  if (!ready) return null;
  return (
    <div className="notice update-banner" data-testid="update-banner" role="status">
      <span>A new version is ready.</span>
      <button
        type="button"
        className="primary"
        data-testid="update-reload"
        disabled={applying}
        onClick={() => void applyUpdate()}
      >
        {applying ? 'Reloading…' : 'Reload to update'}
      </button>
    </div>
  );
}

/** Offline with nothing stored: say what to do rather than wait on a download that cannot come. */
function OfflineNoModel() {
  const online = useOnline();
  const errorCode = useAppStore((s) => s.error?.code ?? null);
  const models = useStoredModels();
  if (!showOfflineNoModel(online, errorCode, models)) return null;
  return (
    <div className="notice offline-no-model" data-testid="offline-no-model" role="alert">
      {OFFLINE_NO_MODEL_TEXT}
    </div>
  );
}
