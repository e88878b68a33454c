/** The React side of the store: a context that carries it and a selector hook. */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { AppState, AppStore } from './store';
import type { HistoryState, HistoryStateStore } from './history';

export const AppStoreContext = createContext<AppStore | null>(null);

export function useAppStoreApi(): AppStore {
  const store = useContext(AppStoreContext);
  if (!store) throw new Error('useAppStore needs an <AppStoreContext.Provider> above it');
  return store;
}

/** Select one slice; return primitives or stable references (zustand 5 compares with Object.is). */
export function useAppStore<T>(selector: (state: AppState) => T): T {
  return useStore(useAppStoreApi(), selector);
}

/** The gallery's store (src/state/history.ts), provided beside the app store. */
export const HistoryStoreContext = createContext<HistoryStateStore | null>(null);

export function useHistory<T>(selector: (state: HistoryState) => T): T {
  const store = useContext(HistoryStoreContext);
  if (!store) throw new Error('useHistory needs a <HistoryStoreContext.Provider> above it');
  return useStore(store, selector);
}

export function useHistoryStoreApi(): HistoryStateStore {
  const store = useContext(HistoryStoreContext);
  if (!store) throw new Error('useHistoryStoreApi needs a <HistoryStoreContext.Provider> above it');
  return store;
}

/** The gallery's store when the app provides one (unit renders of <App/> may not). */
export function useOptionalHistoryStore(): HistoryStateStore | null {
  return useContext(HistoryStoreContext);
}
