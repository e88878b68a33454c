import { useAppStore } from '../state/react';
import { ERROR_EXPLANATIONS, WASM_FALLBACK_HELPS } from './error-messages';

/** The current error: a plain-language explanation, then the technical detail as plain text. */
export function ErrorAlert() {
  const error = useAppStore((s) => s.error);
  const fatal = useAppStore((s) => s.fatal);
  const clearError = useAppStore((s) => s.clearError);
  const backendChoice = useAppStore((s) => s.backendChoice);
  const setBackendChoice = useAppStore((s) => s.setBackendChoice);
  const loadModel = useAppStore((s) => s.loadModel);
  if (!error) return null;
  const offerWasm = !fatal && backendChoice !== 'wasm' && WASM_FALLBACK_HELPS.has(error.code);
  return (
    <div className="error" role="alert" data-testid="error" data-code={error.code}>
      <p className="error-explanation">{ERROR_EXPLANATIONS[error.code]}</p>
      {error.message && <p className="error-detail">{error.message}</p>}
      {error.code === 'load-stalled' && (
        <button type="button" onClick={() => loadModel()} data-testid="retry-load">
          Retry
        </button>
      )}
      {offerWasm && (
        <button
          type="button"
          onClick={() => {
            setBackendChoice('wasm');
            loadModel();
          }}
          data-testid="use-wasm-fallback"
        >
          Load on the WebAssembly backend instead (CPU, much slower)
        </button>
      )}
      {!fatal && (
        <button
          type="button"
          className="link-button"
          onClick={clearError}
          data-testid="dismiss-error"
        >
          Dismiss
        </button>
      )}
    </div>
  );
}
