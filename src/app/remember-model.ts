/** Side effects of loading a model: remember its URL for the next visit and make the link shareable. */
import type { BackendChoice } from '../protocol/messages';
import { MODEL_URL_STORAGE_KEY, withModelParams } from '../state/settings';

export function rememberModel(modelUrl: string, backend: BackendChoice): void {
  try {
    localStorage.setItem(MODEL_URL_STORAGE_KEY, modelUrl);
  } catch {
    // Storage may be unavailable (private mode, blocked): the address bar still carries it.
  }
  try {
    history.replaceState(history.state, '', withModelParams(location.href, modelUrl, backend));
  } catch {
    // replaceState throws on some opaque origins (file://): nothing to share there anyway.
  }
}
