/**
 * What the controls offer for the loaded model's family (steps, sizes, image-to-image), from
 * the family's own declaration (src/pipeline/families/). Before a model is loaded the default
 * family's choices show. Pure functions, tested without rendering.
 */
import type { FamilySize, ModelFamily } from '../pipeline/families/family';
import { familyOf } from '../pipeline/families/registry';
import { sizeKeyOf, type SizeKey } from './settings';

export interface SizeOption {
  key: SizeKey;
  label: string;
  width: number;
  height: number;
}

/** The family's sizes as size keys with the family's labels, in its order. */
export function familySizeOptions(family: ModelFamily): SizeOption[] {
  return family.sizes.choices.flatMap((size: FamilySize) => {
    const key = sizeKeyOf(size.width, size.height);
    return key ? [{ key, label: size.label, width: size.width, height: size.height }] : [];
  });
}

/** The family's default size key. */
export function familyDefaultSize(family: ModelFamily): SizeKey {
  const { width, height } = family.sizes.default;
  const key = sizeKeyOf(width, height);
  if (!key) throw new Error(`${family.id}: default size ${width}×${height} has no size key`);
  return key;
}

/** Whether the family offers this size key. */
export function familyOffersSize(familyId: string | null | undefined, key: string): boolean {
  return familySizeOptions(familyOf(familyId)).some((o) => o.key === key);
}

/** The nearest step count the family offers (ties go to the larger). */
export function clampSteps(steps: number, family: ModelFamily): number {
  const choices = family.steps.choices;
  let best = choices[0] ?? family.steps.default;
  for (const choice of choices) {
    if (Math.abs(choice - steps) <= Math.abs(best - steps)) best = choice;
  }
  return best;
}

/**
 * Steps and size after a model of `familyId` loads: kept where the family offers them, else
 * the family's defaults (a Turbo 1-step 512×512 setting becomes Lightning's 4 steps at 1024²).
 */
export function settingsForFamily(
  familyId: string | null | undefined,
  steps: number,
  size: SizeKey,
): { steps: number; size: SizeKey } {
  const family = familyOf(familyId);
  return {
    steps: family.steps.choices.includes(steps) ? steps : family.steps.default,
    size: familyOffersSize(familyId, size) ? size : familyDefaultSize(family),
  };
}
