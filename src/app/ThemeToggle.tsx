import { useId, useState } from 'react';
import { readTheme, saveTheme, type ThemeChoice } from './theme';

/** System / light / dark, remembered in this browser. */
export function ThemeToggle() {
  const id = useId();
  const [theme, setTheme] = useState<ThemeChoice>(() =>
    typeof window === 'undefined' ? 'system' : readTheme(),
  );
  return (
    <div className="theme-toggle">
      <label htmlFor={id}>Theme</label>
      <select
        id={id}
        data-testid="theme"
        value={theme}
        onChange={(e) => {
          const next = e.target.value as ThemeChoice;
          setTheme(next);
          saveTheme(next);
        }}
      >
        <option value="system">System</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </div>
  );
}
