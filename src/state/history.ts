/**
 * The gallery's state beside the app store: the kept images (newest first), which one the
 * output shows, and the actions on them. It watches the app store for new frames and keeps
 * each one automatically when live mode is off; in live mode (a frame per keystroke) only
 * `keepFrame()` (the Keep button) stores one. Storage itself is src/storage/history-store.ts.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { modelNameFromLocation, type ImageParameters } from '../pipeline/png-parameters';
import { encodePngWithParameters } from '../pipeline/png-export';
import type { HistoryItem, HistoryStore } from '../storage/history-store';
import type { AppState, AppStore, Frame } from './store';

export interface HistoryData {
  items: HistoryItem[];
  /** False until the first listing arrived (or failed). */
  loaded: boolean;
  /** The history item the output shows instead of the newest frame; null: the frame. */
  shownId: string | null;
  /** Id of the newest frame stored in the history (so Keep can say "Kept"). */
  keptFrameId: number | null;
  /** The last storage failure, in words (e.g. no IndexedDB in a private window). */
  problem: string | null;
}

export interface HistoryActions {
  refresh(): Promise<void>;
  /** Stores the app's newest frame (no-op when it is stored already). */
  keepFrame(): Promise<void>;
  /** Settings back into the controls, and the output shows this item's image. */
  restore(id: string): void;
  /** Back to the newest frame. */
  showFrame(): void;
  remove(id: string): Promise<void>;
  clear(): Promise<void>;
  /** The PNG of a history item (with parameter chunks). */
  itemPng(id: string): Promise<Uint8Array | undefined>;
}

export type HistoryState = HistoryData & HistoryActions;
export type HistoryStateStore = StoreApi<HistoryState>;

/**
 * The model's short name: a hosted build's id when the URL is one, else the folder name (a
 * stored custom model's id is a hash, which says nothing to a reader of the PNG).
 */
export function modelNameFor(app: AppState, baseUrl: string): string {
  const known = app.hostedModels.find((m) => m.baseUrl === baseUrl);
  return known?.modelId ?? modelNameFromLocation(baseUrl);
}

/** What an exported PNG of this frame carries. */
export function frameParameters(app: AppState, frame: Frame): ImageParameters {
  const baseUrl = app.model?.baseUrl;
  return {
    ...frame.params,
    model: baseUrl ? modelNameFor(app, baseUrl) : 'unknown',
    ...(baseUrl ? { modelUrl: baseUrl } : {}),
  };
}

/** The frame as PNG bytes with its parameters (Download PNG, Copy). */
export function framePng(app: AppState, frame: Frame): Uint8Array {
  const data = new Uint8ClampedArray(frame.pixels);
  return encodePngWithParameters(
    { width: frame.width, height: frame.height, data },
    frameParameters(app, frame),
  );
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function createHistoryState(app: AppStore, storage: HistoryStore): HistoryStateStore {
  const history = createStore<HistoryState>()((set, get) => {
    const attempt = async (what: string, work: () => Promise<void>) => {
      try {
        await work();
        if (get().problem) set({ problem: null });
      } catch (err) {
        set({ problem: `Could not ${what}: ${describe(err)}` });
      }
    };
    const refresh = () =>
      attempt('read the history', async () => set({ items: await storage.list(), loaded: true }));

    return {
      items: [],
      loaded: false,
      shownId: null,
      keptFrameId: null,
      problem: null,
      refresh: async () => {
        await refresh();
        set({ loaded: true });
      },
      keepFrame: async () => {
        const s = app.getState();
        const frame = s.frame;
        if (!frame || get().keptFrameId === frame.id) return;
        set({ keptFrameId: frame.id });
        await attempt('keep the image', async () => {
          const data = new Uint8ClampedArray(frame.pixels);
          const item = await storage.add(
            { width: frame.width, height: frame.height, data },
            frameParameters(s, frame),
            frame.backend,
          );
          // Prepend rather than re-list: one read less per image, same order.
          set({ items: [item, ...get().items.filter((i) => i.entry.id !== item.entry.id)] });
          await refresh(); // picks up the oldest ones dropped beyond the limit
        });
      },
      restore: (id) => {
        const item = get().items.find((i) => i.entry.id === id);
        if (!item) return;
        set({ shownId: id });
        app.getState().restoreSettings(item.entry);
      },
      showFrame: () => set({ shownId: null }),
      remove: (id) =>
        attempt('delete the image', async () => {
          await storage.remove(id);
          set({
            items: get().items.filter((i) => i.entry.id !== id),
            ...(get().shownId === id ? { shownId: null } : {}),
          });
        }),
      clear: () =>
        attempt('clear the history', async () => {
          await storage.clear();
          set({ items: [], shownId: null });
        }),
      itemPng: (id) => storage.png(id),
    };
  });

  // A new frame: the output shows it (not a restored item), and outside live mode it is kept.
  app.subscribe((s, prev) => {
    if (!s.frame || s.frame === prev.frame) return;
    if (history.getState().shownId !== null) history.setState({ shownId: null });
    // A per-step preview is not the image; its request's own frame follows.
    if (!s.live && !s.frame.preview) void history.getState().keepFrame();
  });
  return history;
}
