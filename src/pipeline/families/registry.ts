/**
 * The model families the app knows. Adding one: write its module (see family.ts for what it
 * declares) and add it to MODEL_FAMILIES below; nothing else lists families.
 */
import type { FamilyConfigFiles, ModelFamily } from './family.ts';
import { SDXL_LIGHTNING } from './sdxl-lightning.ts';
import { SDXL_TURBO } from './sdxl-turbo.ts';

/** Every family; the first is the default for an export whose config names none. */
export const MODEL_FAMILIES = [SDXL_TURBO, SDXL_LIGHTNING] as const;

export type FamilyId = (typeof MODEL_FAMILIES)[number]['id'];

export const DEFAULT_FAMILY: ModelFamily = MODEL_FAMILIES[0];

export function isFamilyId(value: unknown): value is FamilyId {
  return MODEL_FAMILIES.some((f) => f.id === value);
}

/** The family of an id; the default family for an unknown or missing id (older records). */
export function familyOf(id: string | null | undefined): ModelFamily {
  return MODEL_FAMILIES.find((f) => f.id === id) ?? DEFAULT_FAMILY;
}

/**
 * Which family an export is, from its scheduler/scheduler_config.json and model_index.json:
 * the first family that recognises them, else the default (an export that ships neither file,
 * like the webnn Turbo build, is taken as SDXL Turbo, as before families existed).
 */
export function recogniseFamily(files: FamilyConfigFiles): ModelFamily {
  return MODEL_FAMILIES.find((f) => f.recognise(files)) ?? DEFAULT_FAMILY;
}
