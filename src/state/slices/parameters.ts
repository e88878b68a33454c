/**
 * The parameters an image is made from: prompt, steps, seed (and whether Generate keeps it),
 * noise generator and size. Each edit goes through `ctx.edit`, so live mode asks for the new
 * image; restoring a past image's settings is one edit, not one per field.
 */
import { parseSeed } from '../seed';
import {
  DEFAULT_NOISE_GENERATOR,
  UNNAMED_NOISE_GENERATOR,
  isNoiseGeneratorName,
} from '../../pipeline/noise/noise-generators';
import { normalizeStrength, refitInputImage } from '../input-image';
import { DEFAULT_SIZE, DEFAULT_STEPS, isSizeKey, sizeKeyOf } from '../settings';
import { sizeOf, type AppActions, type AppData } from '../app-state';
import type { Slice, SliceContext } from './context';
import { clampSteps as clampFamilySteps, familyOffersSize } from '../family-choices';
import { familyOf } from '../../pipeline/families/registry';

type ParametersData = Pick<AppData, 'prompt' | 'steps' | 'seed' | 'noise' | 'size' | 'seedLocked'>;
type ParametersActions = Pick<
  AppActions,
  | 'setPrompt'
  | 'setSteps'
  | 'setSeed'
  | 'rerollSeed'
  | 'setSeedLocked'
  | 'setNoise'
  | 'restoreSettings'
  | 'setSize'
>;

/** The loaded model's family's nearest step count (the default family's before a load). */
const clampSteps = (steps: number, family: string | undefined) =>
  clampFamilySteps(Math.round(steps), familyOf(family));

export function createParametersSlice(
  ctx: SliceContext,
  nextSeed: () => number,
): Slice<ParametersData & ParametersActions> {
  const { get, set, edit } = ctx;
  const initial = ctx.deps.initial ?? {};
  return {
    on: {},
    state: {
      prompt: initial.prompt ?? '',
      steps: DEFAULT_STEPS,
      seed: parseSeed(initial.seed ?? Number.NaN) ?? nextSeed(),
      noise: DEFAULT_NOISE_GENERATOR,
      size: DEFAULT_SIZE,
      seedLocked: true,

      setPrompt: (prompt) => edit({ prompt }),
      setSteps: (steps) => {
        if (!Number.isFinite(steps)) return;
        edit({ steps: clampSteps(steps, get().model?.family) });
      },
      setSeed: (input) => {
        const seed = parseSeed(input);
        if (seed === null) return false;
        edit({ seed });
        return true;
      },
      rerollSeed: () => edit({ seed: nextSeed() }),
      setSeedLocked: (seedLocked) => set({ seedLocked }),
      setNoise: (name) => {
        if (isNoiseGeneratorName(name)) edit({ noise: name });
      },
      restoreSettings: (r) => {
        const seed = parseSeed(r.seed);
        const patch: Partial<AppData> = {
          prompt: r.prompt,
          steps: clampSteps(r.steps, get().model?.family),
          ...(seed !== null ? { seed } : {}),
          // Settings that name no generator are from before torch-cpu: mulberry32 made them.
          noise: isNoiseGeneratorName(r.noise) ? r.noise : UNNAMED_NOISE_GENERATOR,
        };
        const size = sizeOf(get().size);
        const found = sizeKeyOf(r.width, r.height);
        const key = found !== null && familyOffersSize(get().model?.family, found) ? found : null;
        if (key !== null && (size.width !== r.width || size.height !== r.height)) {
          const { inputImage } = get();
          patch.size = key;
          patch.inputImage = inputImage && refitInputImage(inputImage, r.width, r.height);
        }
        const strength = r.strength === undefined ? null : normalizeStrength(r.strength);
        if (strength !== null) patch.strength = strength;
        edit(patch);
      },
      setSize: (size) => {
        if (!isSizeKey(size) || !familyOffersSize(get().model?.family, size)) return;
        const { inputImage } = get();
        const { width, height } = sizeOf(size);
        // The input image is cropped to the output size, so it is refitted with it.
        edit({ size, inputImage: inputImage && refitInputImage(inputImage, width, height) });
      },
    },
  };
}
