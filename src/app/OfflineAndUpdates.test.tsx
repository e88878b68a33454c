import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { StoredModelInfo } from '../protocol/messages';
import { AppStoreContext } from '../state/react';
import { createAppStore } from '../state/store';
import { OfflineAndUpdates } from './OfflineAndUpdates';
import { OFFLINE_NO_MODEL_TEXT, showOfflineNoModel, storedModelsText } from './offline-status';

const tiny: StoredModelInfo = {
  modelId: 'm1',
  displayName: 'tiny-fp32',
  baseUrl: 'https://m.example/tiny-fp32/',
  storedBytes: 8_000_000,
  totalBytes: 8_000_000,
  complete: true,
};
const partial: StoredModelInfo = { ...tiny, modelId: 'm2', displayName: 'big', complete: false };

describe('<OfflineAndUpdates/>', () => {
  it('renders the version and the offline readiness, no prompt or notice at startup', () => {
    const store = createAppStore({ port: { post: () => {} } });
    const html = renderToStaticMarkup(
      <AppStoreContext.Provider value={store}>
        <OfflineAndUpdates />
      </AppStoreContext.Provider>,
    );
    expect(html).toContain(`data-testid="app-version"`);
    expect(html).toContain(`Version ${__APP_VERSION__}`);
    // Unit tests run without a service worker.
    expect(html).toMatch(/data-testid="offline-status" data-state="unavailable"/);
    expect(html).not.toContain('update-banner');
    expect(html).not.toContain('offline-no-model');
  });
});

describe('offline status texts', () => {
  it('lists stored models, partial ones marked', () => {
    expect(storedModelsText(null)).toBe('');
    expect(storedModelsText([])).toBe('no model stored yet');
    expect(storedModelsText([tiny, partial])).toBe('stored: tiny-fp32, big (partial)');
  });

  it('shows the offline notice only offline, with no complete model, once the list is known', () => {
    expect(OFFLINE_NO_MODEL_TEXT).toBe(
      'You are offline and no model is stored in this browser yet. Connect once to download a model; after that the app works offline.',
    );
    expect(showOfflineNoModel(false, null, [])).toBe(true);
    expect(showOfflineNoModel(false, null, [partial])).toBe(true);
    // A model fetch that failed because the worker found the browser offline.
    expect(showOfflineNoModel(true, 'offline', [])).toBe(true);
    expect(showOfflineNoModel(true, null, [])).toBe(false);
    expect(showOfflineNoModel(true, 'download-failed', [])).toBe(false);
    expect(showOfflineNoModel(false, null, [tiny])).toBe(false);
    expect(showOfflineNoModel(false, null, null)).toBe(false);
  });
});
