/** What the offline indicator and the offline notice say, as plain functions of the state. */
import type { StoredModelInfo } from '../protocol/messages';
import type { OfflineReadiness } from '../sw/register';

export const READINESS_TEXT: Record<OfflineReadiness, string> = {
  unavailable: 'Offline use is not available here (no service worker)',
  installing: 'Preparing offline use…',
  ready: 'App ready offline',
  error: 'Offline use unavailable: the service worker failed to register',
};

export const OFFLINE_NO_MODEL_TEXT =
  'You are offline and no model is stored in this browser yet. Connect once to download a model; after that the app works offline.';

/** "stored: a, b (partial)"; "" while the worker has not listed them yet (null). */
export function storedModelsText(models: readonly StoredModelInfo[] | null): string {
  if (models === null) return '';
  if (models.length === 0) return 'no model stored yet';
  const names = models.map((m) => (m.complete ? m.displayName : `${m.displayName} (partial)`));
  return `stored: ${names.join(', ')}`;
}

/**
 * The offline notice shows when the browser is offline (or a model fetch failed because it
 * is) and no complete model is stored, so nothing could load. Not before the worker has said
 * what is stored (`models` null): a stored model must not flash "no model" at startup.
 */
export function showOfflineNoModel(
  online: boolean,
  errorCode: string | null,
  models: readonly StoredModelInfo[] | null,
): boolean {
  if (online && errorCode !== 'offline') return false;
  return models !== null && !models.some((m) => m.complete);
}
