import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import { rememberModel } from './app/remember-model';
import { createEngineWorker, superviseEngine } from './app/worker-client';
import { AppStoreContext, HistoryStoreContext } from './state/react';
import { createHistoryState } from './state/history';
import { createHistoryStore } from './storage/history-store';
import { applyTheme, readTheme } from './app/theme';
import { readInitialSettings } from './state/settings';
import { createAppStore, type AppStore, type WorkerPort } from './state/store';
import './app/styles.css';

function localStorageOrNull(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null; // reading the property itself throws when storage is blocked
  }
}

// Before the first render, so a stored dark/light choice never flashes the other theme.
applyTheme(readTheme());

const initial = readInitialSettings(location.search, localStorageOrNull());
let startFailure: unknown = null;
let port: WorkerPort = { post() {} };
try {
  // The port reads `store` lazily: the worker's first event arrives after this module has run.
  port = superviseEngine(createEngineWorker, () => store.getState());
} catch (err) {
  startFailure = err; // e.g. no module-worker support
}
const store: AppStore = createAppStore({ port, initial, onModelRequested: rememberModel });
if (startFailure !== null) store.getState().workerFailed(String(startFailure));
const history = createHistoryState(store, createHistoryStore());

const root = document.getElementById('root');
if (!root) throw new Error('index.html lacks <div id="root">');
createRoot(root).render(
  <StrictMode>
    <AppStoreContext.Provider value={store}>
      <HistoryStoreContext.Provider value={history}>
        <App />
      </HistoryStoreContext.Provider>
    </AppStoreContext.Provider>
  </StrictMode>,
);
