import { useAppStore } from '../state/react';
import type { RestartReason } from '../state/store';

const WHAT_HAPPENED: Record<RestartReason, string> = {
  crashed: 'The engine stopped with an error and was restarted.',
  hung: 'The engine stopped responding and was restarted.',
  'device-lost':
    'The GPU was reset (device lost: a driver reset, the GPU running out of memory, or the system reclaiming it), so the engine was restarted on a fresh GPU device.',
};

/**
 * Says that the page replaced a failed engine worker, and what that means for the user's work:
 * settings and stored models are kept, the model loads again, anything in flight was stopped.
 */
export function RestartNotice() {
  const notice = useAppStore((s) => s.restartNotice);
  const dismiss = useAppStore((s) => s.dismissRestartNotice);
  if (!notice) return null;
  return (
    <div
      className="restart-notice"
      role="status"
      data-testid="restart-notice"
      data-reason={notice.reason}
      data-reloading={notice.reloading}
    >
      <p>
        {WHAT_HAPPENED[notice.reason]}{' '}
        {notice.reloading
          ? 'Loading the model again (from this browser’s storage when it is stored there)…'
          : 'Your prompt and settings are kept.'}{' '}
        A generation or download that was running was stopped; a download resumes from what is
        stored when you start it again.
      </p>
      <p className="error-detail">{notice.message}</p>
      <button type="button" className="link-button" onClick={dismiss}>
        Dismiss
      </button>
    </div>
  );
}
