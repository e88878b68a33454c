/**
 * Generation and live mode: posting 'generate' with the current parameters, the frames and
 * per-step previews that come back (newest wins), live mode's request per edit, and the
 * full-VAE decode that follows a TAESDXL preview frame after a pause.
 */
import type { GenerateParams, WorkerEvent } from '../../protocol/messages';
import { imageToImageBlocker, wireImage } from '../input-image';
import { cleanPrompt } from '../settings';
import { canGenerate, sizeOf, type AppActions, type AppData } from '../app-state';
import type { SharedOps, Slice, SliceContext } from './context';

/**
 * After a TAESDXL-decoded live frame, this long without a new edit and the full VAE decodes
 * the same latents (the worker kept them; the UNet does not run again).
 */
export const PREVIEW_IDLE_MS = 600;

type GenerationData = Pick<
  AppData,
  'live' | 'previews' | 'generatingId' | 'fullDecodePending' | 'frame' | 'stats'
>;
type GenerationActions = Pick<AppActions, 'setLive' | 'setPreviews' | 'generate' | 'cancel'>;

type GenerationShared = Pick<
  SharedOps,
  'requestGeneration' | 'requestLive' | 'stopFullDecode' | 'forgetRequest' | 'forgetAllRequests'
>;

/** The worker events this slice answers. */
type Handled = 'generation-started' | 'superseded' | 'frame' | 'preview';

/** What a frame and a per-step preview both carry: the picture and how it was made. */
function pictureOf(ev: Extract<WorkerEvent, { type: 'frame' | 'preview' }>) {
  const { id, width, height, pixels, backend, params } = ev;
  return { id, width, height, pixels, backend, params };
}

export function createGenerationSlice(
  ctx: SliceContext,
  nextSeed: () => number,
): Slice<GenerationData & GenerationActions, Handled> & { shared: GenerationShared } {
  const { deps, get, set, now } = ctx;
  const setTimer =
    deps.setTimer ??
    ((run: () => void, ms: number) => {
      const timer = setTimeout(run, ms);
      return () => clearTimeout(timer);
    });
  /** When each generate request was asked for, until its frame (or end) arrives. */
  const requestedAt = new Map<number, number>();
  /** Cancels the pending full-VAE decode of the last preview frame, if any. */
  let cancelFullDecode: (() => void) | null = null;

  /**
   * Posts 'generate' with the current parameters. Live requests let the worker finish what
   * it is running (frames keep coming while typing); the worker keeps only the newest
   * waiting request, so pacing follows the real generation time, not a fixed debounce.
   */
  const requestGeneration = (live: boolean): boolean => {
    const s = get();
    if (!canGenerate(s)) return false;
    stopFullDecode();
    if (imageToImageBlocker(s) !== null) return false; // the input panel says why
    const id = ctx.newRequestId();
    const params: GenerateParams = {
      prompt: cleanPrompt(s.prompt),
      seed: s.seed,
      noise: s.noise,
      steps: s.steps,
      ...sizeOf(s.size),
      ...(s.inputImage ? { strength: s.strength } : {}),
    };
    requestedAt.set(id, now());
    const image = s.inputImage ? { image: wireImage(s.inputImage) } : {};
    const previews = s.previews && s.model?.previews === true;
    // Live text-to-image frames are TAESDXL previews; the full VAE follows after a pause.
    const decoder = previews && live && !s.inputImage ? 'taesd' : 'vae';
    deps.port.post({
      type: 'generate',
      id,
      params,
      live,
      ...image,
      ...(previews ? { decoder, stepPreviews: true } : {}),
    });
    set({
      generatingId: id,
      error: null,
      stats: { ...s.stats, requested: s.stats.requested + 1 },
    });
    return true;
  };

  /**
   * After PREVIEW_IDLE_MS without a new request, the full VAE decodes the preview's latents:
   * the same parameters with decoder 'vae', which the worker answers from its kept latents.
   */
  const scheduleFullDecode = (frameId: number, params: GenerateParams) => {
    cancelFullDecode?.();
    set({ fullDecodePending: true });
    cancelFullDecode = setTimer(() => {
      cancelFullDecode = null;
      const s = get();
      if (s.frame?.id !== frameId || s.generatingId !== null || !canGenerate(s)) {
        set({ fullDecodePending: false });
        return;
      }
      const id = ctx.newRequestId();
      requestedAt.set(id, now());
      deps.port.post({ type: 'generate', id, params, live: false, decoder: 'vae' });
      set({
        generatingId: id,
        fullDecodePending: false,
        stats: { ...s.stats, requested: s.stats.requested + 1 },
      });
    }, PREVIEW_IDLE_MS);
  };

  const stopFullDecode = () => {
    cancelFullDecode?.();
    cancelFullDecode = null;
    if (get().fullDecodePending) set({ fullDecodePending: false });
  };

  /** In live mode, an edit asks for its image (an empty prompt asks for nothing yet). */
  const requestLive = () => {
    const s = get();
    if (s.live && s.prompt.trim() !== '') requestGeneration(true);
  };

  return {
    shared: {
      requestGeneration,
      requestLive,
      stopFullDecode,
      forgetRequest: (id) => requestedAt.delete(id),
      forgetAllRequests: () => requestedAt.clear(),
    },
    state: {
      live: true,
      previews: true,
      generatingId: null,
      frame: null,
      stats: { requested: 0, started: 0, finished: 0, superseded: 0 },

      setLive: (live) => {
        set({ live });
        if (live) requestLive();
      },
      setPreviews: (previews) => set({ previews }),
      generate: () => {
        // Unlocked seed: each click is a new picture (set before the request reads it).
        if (!get().seedLocked && canGenerate(get())) set({ seed: nextSeed() });
        return requestGeneration(false);
      },
      cancel: () => {
        if (get().generatingId === null) return;
        deps.port.post({ type: 'cancel', id: ctx.newRequestId() });
      },
    },
    on: {
      'generation-started': () => {
        // 'generating' already shows from the moment the request was posted.
        const s = get();
        set({ stats: { ...s.stats, started: s.stats.started + 1 } });
      },
      superseded: (ev) => {
        const s = get();
        requestedAt.delete(ev.id);
        const patch: Partial<AppData> = {
          stats: { ...s.stats, superseded: s.stats.superseded + 1 },
        };
        if (s.generatingId === ev.id) patch.generatingId = null;
        set(patch);
      },
      frame: (ev) => {
        const s = get();
        const askedAt = requestedAt.get(ev.id);
        requestedAt.delete(ev.id);
        const stats = { ...s.stats, finished: s.stats.finished + 1 };
        // Newest wins: a late frame of an older request never replaces a newer picture.
        if (s.frame && ev.id < s.frame.id) {
          set({ stats });
          return;
        }
        const done = s.generatingId !== null && ev.id >= s.generatingId;
        const finished: Partial<AppData> = done ? { generatingId: null } : {};
        if (ev.pixels.byteLength !== ev.width * ev.height * 4) {
          const detail = `Frame ${ev.id} has ${ev.pixels.byteLength} bytes, expected ${ev.width}×${ev.height}×4.`;
          set({
            ...finished,
            stats,
            error: { code: 'internal', message: detail, requestId: ev.id },
          });
          return;
        }
        set({
          frame: {
            ...pictureOf(ev),
            timings: ev.timings,
            ...(ev.decoder ? { decoder: ev.decoder } : {}),
            latencyMs: askedAt === undefined ? null : now() - askedAt,
          },
          stats,
          ...finished,
        });
        if (ev.decoder === 'taesd' && done) scheduleFullDecode(ev.id, ev.params);
      },
      preview: (ev) => {
        const s = get();
        // Only the running request's steps; never over a newer picture.
        if (ev.id !== s.generatingId || (s.frame && ev.id < s.frame.id)) return;
        if (ev.pixels.byteLength !== ev.width * ev.height * 4) return;
        set({
          frame: {
            ...pictureOf(ev),
            timings: null,
            decoder: 'taesd',
            preview: { step: ev.step, steps: ev.steps },
            latencyMs: null,
          },
        });
      },
    },
  };
}
