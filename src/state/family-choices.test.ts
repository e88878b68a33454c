import { describe, expect, it } from 'vitest';
import { MODEL_FAMILIES } from '../pipeline/families/registry';
import {
  clampSteps,
  familyDefaultSize,
  familyOffersSize,
  familySizeOptions,
  settingsForFamily,
} from './family-choices';
import { DEFAULT_SIZE, DEFAULT_STEPS, STEP_CHOICES } from './settings';
import { SDXL_LIGHTNING } from '../pipeline/families/sdxl-lightning';
import { SDXL_TURBO } from '../pipeline/families/sdxl-turbo';

describe('family choices', () => {
  it('every size a family offers has a size key', () => {
    for (const family of MODEL_FAMILIES) {
      expect(familySizeOptions(family)).toHaveLength(family.sizes.choices.length);
      expect(familySizeOptions(family).map((o) => o.label)).toEqual(
        family.sizes.choices.map((s) => s.label),
      );
    }
  });

  it('the settings defaults are the default family (SDXL Turbo)', () => {
    expect(DEFAULT_SIZE).toBe(familyDefaultSize(SDXL_TURBO));
    expect(DEFAULT_STEPS).toBe(1);
    expect(STEP_CHOICES).toEqual([1, 2, 3, 4]);
  });

  it('steps clamp to what the family offers', () => {
    expect(clampSteps(7, SDXL_TURBO)).toBe(4);
    expect(clampSteps(0, SDXL_TURBO)).toBe(1);
    expect(clampSteps(2, SDXL_TURBO)).toBe(2);
    expect(clampSteps(1, SDXL_LIGHTNING)).toBe(4);
  });

  it('a Lightning load turns Turbo settings into its own defaults, and back', () => {
    expect(settingsForFamily('sdxl-lightning', 1, '512x512')).toEqual({
      steps: 4,
      size: '1024x1024',
    });
    expect(settingsForFamily('sdxl-lightning', 4, '768x768')).toEqual({
      steps: 4,
      size: '768x768',
    });
    expect(settingsForFamily('sdxl-turbo', 4, '1024x1024')).toEqual({
      steps: 4,
      size: '512x512',
    });
    expect(familyOffersSize('sdxl-turbo', '1024x1024')).toBe(false);
    expect(familyOffersSize(undefined, '768x512')).toBe(true);
  });
});
