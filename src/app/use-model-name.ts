import { useAppStore } from '../state/react';
import { modelName } from './model-choice';

/** The name the model panel shows for the model at this URL (see modelName). */
export function useModelName(baseUrl: string | null): string {
  const hosted = useAppStore((s) => s.hostedModels);
  const stored = useAppStore((s) => s.storedModels);
  return baseUrl === null ? '' : modelName(baseUrl, hosted, stored);
}
