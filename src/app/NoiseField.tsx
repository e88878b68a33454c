import { useId } from 'react';
import { useAppStore } from '../state/react';
import { NOISE_CHOICES } from '../state/settings';

/**
 * Which generator turns the seed into noise. New images use PyTorch's CPU generator (a seed
 * gives diffusers' noise); the first generator stays for images made with it, and restoring one
 * of those from the history selects it by itself.
 */
export function NoiseField() {
  const id = useId();
  const noise = useAppStore((s) => s.noise);
  const setNoise = useAppStore((s) => s.setNoise);
  return (
    <div className="field">
      <label htmlFor={id}>Noise generator</label>
      <select id={id} data-testid="noise" value={noise} onChange={(e) => setNoise(e.target.value)}>
        {NOISE_CHOICES.map((choice) => (
          <option key={choice.value} value={choice.value}>
            {choice.label}
          </option>
        ))}
      </select>
    </div>
  );
}
