import { useId, useState } from 'react';
import { useAppStore } from '../state/react';
import { canGenerate } from '../state/store';
import { imageToImageBlocker } from '../state/input-image';
import { MAX_SEED } from '../state/seed';
import { NoiseField } from './NoiseField';
import { familySizeOptions, type SizeOption } from '../state/family-choices';
import { familyOf } from '../pipeline/families/registry';

/**
 * The prompt, live mode and the Generate button: on a phone the image comes right after them,
 * and the other parameters (GenerationSettings) after the image.
 */
export function GenerateControls() {
  const id = useId();
  const prompt = useAppStore((s) => s.prompt);
  const enabled = useAppStore(canGenerate);
  // An input image the model cannot use (no VAE encoder, steps × strength < 1): the input
  // panel says why.
  const blocked = useAppStore(imageToImageBlocker) !== null;
  const setPrompt = useAppStore((s) => s.setPrompt);
  const generate = useAppStore((s) => s.generate);
  const live = useAppStore((s) => s.live);
  const setLive = useAppStore((s) => s.setLive);
  const previews = useAppStore((s) => s.previews);
  const setPreviews = useAppStore((s) => s.setPreviews);
  const modelHasPreviews = useAppStore((s) => s.model?.previews === true);

  return (
    <section className="panel" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="panel-title">
        Image
      </h2>
      <div className="field">
        <label htmlFor={`${id}-prompt`}>Prompt</label>
        <textarea
          id={`${id}-prompt`}
          data-testid="prompt"
          rows={4}
          value={prompt}
          placeholder="A cinematic photo of a red fox in fresh snow, golden hour"
          onChange={(e) => setPrompt(e.target.value)}
          aria-describedby={`${id}-prompt-hint`}
        />
        <p id={`${id}-prompt-hint`} className="hint">
          {live ? 'Live: the picture follows as you type. ' : ''}
          <kbd>Ctrl</kbd>/<kbd>⌘</kbd> + <kbd>Enter</kbd> generates, <kbd>Esc</kbd> stops (anywhere
          on the page).
        </p>
      </div>

      <label className="checkbox">
        <input
          type="checkbox"
          data-testid="live"
          checked={live}
          onChange={(e) => setLive(e.target.checked)}
        />
        Live: regenerate on every edit (the seed stays fixed)
      </label>

      <label className="checkbox">
        <input
          type="checkbox"
          data-testid="previews"
          checked={previews}
          onChange={(e) => setPreviews(e.target.checked)}
        />
        Fast previews (TAESDXL): live frames while typing, the full VAE after a pause, and a picture
        after each step
        {modelHasPreviews ? '' : ' (this model has no TAESDXL weights)'}
      </label>

      <button
        type="button"
        className="primary"
        data-testid="generate"
        disabled={!enabled || blocked}
        onClick={() => generate()}
      >
        Generate
      </button>
    </section>
  );
}

/** Steps, size and seed: what else shapes the image. */
export function GenerationSettings() {
  const id = useId();
  const steps = useAppStore((s) => s.steps);
  const size = useAppStore((s) => s.size);
  const setSteps = useAppStore((s) => s.setSteps);
  const setSize = useAppStore((s) => s.setSize);
  const maxImagePixels = useAppStore((s) => s.model?.maxImagePixels ?? null);
  // The loaded model's family offers its own steps and sizes (the default family's before a load).
  const family = familyOf(useAppStore((s) => s.model?.family));
  const sizes = familySizeOptions(family);
  const fitsGpu = (o: SizeOption) =>
    maxImagePixels === null || o.width * o.height <= maxImagePixels;
  const someSizeTooLarge = sizes.some((o) => !fitsGpu(o));

  return (
    <section className="panel" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="panel-title">
        Settings
      </h2>
      <div className="field-row">
        <div className="field">
          <label htmlFor={`${id}-steps`}>Steps</label>
          <select
            id={`${id}-steps`}
            data-testid="steps"
            value={steps}
            onChange={(e) => setSteps(Number(e.target.value))}
          >
            {family.steps.choices.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-size`}>Size</label>
          <select
            id={`${id}-size`}
            data-testid="size"
            value={size}
            onChange={(e) => setSize(e.target.value)}
            aria-describedby={someSizeTooLarge ? `${id}-size-hint` : undefined}
          >
            {sizes.map((o) => (
              <option key={o.key} value={o.key} disabled={!fitsGpu(o)}>
                {o.label}
              </option>
            ))}
          </select>
          {someSizeTooLarge && (
            <p id={`${id}-size-hint`} className="hint" data-testid="size-limit-hint">
              Larger sizes do not fit this GPU&apos;s buffers.
            </p>
          )}
        </div>
      </div>

      <SeedField />
      <NoiseField />

      <p className="note">
        SDXL Turbo runs without guidance, so there is no negative prompt. It was distilled to work
        without classifier-free guidance, so there is no guidance (CFG) slider either.
      </p>
    </section>
  );
}

/**
 * The seed input keeps the text being typed as a local draft, so an empty or half-typed field
 * does not snap back; every valid value goes straight to the store, and blur shows the store's.
 */
function SeedField() {
  const id = useId();
  const seed = useAppStore((s) => s.seed);
  const setSeed = useAppStore((s) => s.setSeed);
  const rerollSeed = useAppStore((s) => s.rerollSeed);
  const locked = useAppStore((s) => s.seedLocked);
  const setLocked = useAppStore((s) => s.setSeedLocked);
  const [draft, setDraft] = useState<string | null>(null);

  return (
    <div className="field">
      <label htmlFor={id}>Seed</label>
      <div className="seed-row">
        <input
          id={id}
          data-testid="seed"
          type="number"
          inputMode="numeric"
          min={0}
          max={MAX_SEED}
          step={1}
          value={draft ?? String(seed)}
          onChange={(e) => {
            setDraft(e.target.value);
            setSeed(e.target.value);
          }}
          onBlur={() => setDraft(null)}
        />
        <button
          type="button"
          data-testid="reroll-seed"
          title="Pick a random seed"
          onClick={rerollSeed}
        >
          🎲 Re-roll
        </button>
        <button
          type="button"
          data-testid="seed-lock"
          aria-pressed={locked}
          title={
            locked
              ? 'Locked: Generate keeps this seed (same settings, same image). Press to unlock.'
              : 'Unlocked: every Generate picks a new seed. Press to lock.'
          }
          onClick={() => setLocked(!locked)}
        >
          {locked ? '🔒' : '🔓'} Lock seed
        </button>
      </div>
    </div>
  );
}
