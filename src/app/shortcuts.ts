import { useEffect } from 'react';
import { useAppStoreApi } from '../state/react';

/**
 * Page-wide keys, so they work from any control, not only the prompt box: Ctrl/⌘+Enter
 * generates, Esc stops the running generation and drops the waiting one. Plain form fields
 * give Esc no job of their own, so it is free everywhere.
 */
export function useShortcuts(): void {
  const store = useAppStoreApi();
  useEffect(() => {
    const onKeyDown = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.isComposing) return;
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        store.getState().generate();
      } else if (e.key === 'Escape') {
        store.getState().cancel();
      }
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, [store]);
}
