import { useAppStore } from '../state/react';
import { ERROR_EXPLANATIONS } from './error-messages';

/** The current error: a plain-language explanation, then the technical detail as plain text. */
export function ErrorAlert() {
  const error = useAppStore((s) => s.error);
  const fatal = useAppStore((s) => s.fatal);
  const clearError = useAppStore((s) => s.clearError);
  if (!error) return null;
  return (
    <div className="error" role="alert" data-testid="error" data-code={error.code}>
      <p className="error-explanation">{ERROR_EXPLANATIONS[error.code]}</p>
      {error.message && <p className="error-detail">{error.message}</p>}
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
