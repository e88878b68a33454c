/**
 * Light, dark or the system's choice. The choice lives in localStorage and shows as
 * `<html data-theme>`; without one the stylesheet follows prefers-color-scheme.
 */
export type ThemeChoice = 'system' | 'light' | 'dark';
export const THEME_STORAGE_KEY = 'sdxl-turbo-web:theme';

export function readTheme(): ThemeChoice {
  try {
    const v = window.localStorage.getItem(THEME_STORAGE_KEY);
    return v === 'light' || v === 'dark' ? v : 'system';
  } catch {
    return 'system'; // storage blocked: follow the system
  }
}

export function applyTheme(choice: ThemeChoice): void {
  const root = document.documentElement;
  if (choice === 'system') delete root.dataset['theme'];
  else root.dataset['theme'] = choice;
}

export function saveTheme(choice: ThemeChoice): void {
  applyTheme(choice);
  try {
    if (choice === 'system') window.localStorage.removeItem(THEME_STORAGE_KEY);
    else window.localStorage.setItem(THEME_STORAGE_KEY, choice);
  } catch {
    // not remembered, still applied
  }
}
