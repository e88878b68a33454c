import { useId, useState, type FormEvent } from 'react';
import { useAppStore } from '../state/react';
import { recommendHostedModel } from '../state/model-fit';
import { BACKEND_CHOICES } from '../state/settings';
import { MODEL_FAMILIES } from '../pipeline/families/registry';
import { formatBytes } from './format';
import { HostedModels, URL_CHOICE } from './HostedModels';
import { buildTradeOff, recommendationReason } from './model-choice';

/**
 * Choosing a model: one choice preselected (the build suggested for this GPU, or the URL the
 * user gave before) with its size and why, one primary button, and the other builds, a model
 * URL and the backend one step away in a disclosure. Nothing is fetched before the download
 * plan says how big it is.
 */
export function ModelChooser() {
  const id = useId();
  const hosted = useAppStore((s) => s.hostedModels);
  const caps = useAppStore((s) => s.capabilities);
  const modelUrl = useAppStore((s) => s.modelUrl);
  const backendChoice = useAppStore((s) => s.backendChoice);
  const familyChoice = useAppStore((s) => s.familyChoice);
  const setFamilyChoice = useAppStore((s) => s.setFamilyChoice);
  const workerReady = useAppStore((s) => s.workerReady && !s.fatal);
  const loadedUrl = useAppStore((s) => s.model?.baseUrl ?? null);
  const hasModel = loadedUrl !== null;
  const setModelUrl = useAppStore((s) => s.setModelUrl);
  const setBackendChoice = useAppStore((s) => s.setBackendChoice);
  const loadModel = useAppStore((s) => s.loadModel);
  // The user's pick in the list; until then the default below.
  const [picked, setPicked] = useState<string | null>(null);

  const recommended = recommendHostedModel(hosted, caps);
  // With a model loaded, its own URL is not "another model": the suggestion comes first then.
  const typed = modelUrl.trim() === loadedUrl ? '' : modelUrl.trim();
  // A URL given before (a link, the last visit) stays the choice; else the suggested build.
  const typedBuild = hosted.find((m) => m.baseUrl === typed);
  const defaultChoice =
    typedBuild?.modelId ??
    (typed !== '' ? URL_CHOICE : (recommended?.modelId ?? hosted[0]?.modelId ?? URL_CHOICE));
  const choice = picked ?? defaultChoice;
  const selected = hosted.find((m) => m.modelId === choice);
  const enabled = workerReady && (selected !== undefined || typed !== '');

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (selected) setModelUrl(selected.baseUrl);
    loadModel(); // plans the download first: nothing is fetched without a go-ahead
  };

  return (
    <form onSubmit={onSubmit} className="model-chooser" data-choice={choice}>
      <p className="chooser-lead">
        {hasModel ? 'Choose another model' : 'Choose a model to begin'}
      </p>
      {selected ? (
        <div className="choice-card" data-testid="selected-build" data-model-id={selected.modelId}>
          <p className="choice-title">
            <span className="choice-name">{selected.displayName}</span>
            {selected === recommended && <span className="badge">recommended</span>}
          </p>
          <p className="choice-size">
            about {formatBytes(selected.approxBytes)} download
            {selected.keptBytes !== undefined &&
              `, about ${formatBytes(selected.keptBytes)} kept (stored as fp16)`}
          </p>
          <p className="choice-text">{buildTradeOff(selected)}</p>
          {selected === recommended && (
            <p className="choice-text hint" data-testid="recommendation-reason">
              Why this one: {recommendationReason(selected, caps)}
            </p>
          )}
        </div>
      ) : (
        <div className="choice-card" data-testid="selected-url">
          {typed === '' ? (
            <p className="choice-text">
              {workerReady ? 'Enter the address of a model below.' : 'Checking this browser…'}
            </p>
          ) : (
            <>
              <p className="choice-title">
                <span className="choice-name">Model at a URL</span>
              </p>
              <p className="choice-url">{typed}</p>
            </>
          )}
        </div>
      )}
      <div className="chooser-actions">
        <button
          type="submit"
          data-testid="load-model"
          disabled={!enabled}
          className="primary load-button"
        >
          Load model
        </button>
        <p className="hint">You see its size before anything downloads.</p>
      </div>
      <details className="model-options" data-testid="model-options">
        <summary>Other builds, a model URL, the backend</summary>
        <div className="model-options-body">
          <fieldset className="choice-list">
            <legend>Model</legend>
            <HostedModels
              name={`${id}-choice`}
              choice={choice}
              recommended={recommended}
              onPick={setPicked}
            />
            <label className="choice-option">
              <input
                type="radio"
                name={`${id}-choice`}
                checked={choice === URL_CHOICE}
                onChange={() => setPicked(URL_CHOICE)}
              />
              <span className="choice-option-text">
                <span className="choice-name">A model at a URL</span>
              </span>
            </label>
          </fieldset>
          <div className="field">
            <label htmlFor={`${id}-url`}>Model base URL</label>
            <input
              id={`${id}-url`}
              data-testid="model-url"
              type="text"
              inputMode="url"
              autoComplete="url"
              spellCheck={false}
              placeholder="https://example.com/models/sdxl-turbo-onnx/"
              value={selected ? '' : modelUrl}
              onChange={(e) => {
                setPicked(URL_CHOICE);
                setModelUrl(e.target.value);
              }}
              aria-describedby={`${id}-url-hint`}
            />
            <p id={`${id}-url-hint`} className="hint">
              The folder of an SDXL Turbo export in the diffusers/optimum ONNX layout (
              <code>tokenizer/</code>, <code>text_encoder/</code>, <code>text_encoder_2/</code>,{' '}
              <code>unet/</code>, <code>vae_decoder/</code>).
            </p>
          </div>
          <div className="field">
            <label htmlFor={`${id}-family`}>Model family</label>
            <select
              id={`${id}-family`}
              data-testid="model-family"
              value={familyChoice}
              onChange={(e) => setFamilyChoice(e.target.value)}
              aria-describedby={`${id}-family-hint`}
            >
              <option value="auto">Recognise from its scheduler config</option>
              {MODEL_FAMILIES.map((f) => (
                <option key={f.id} value={f.id}>
                  {f.displayName}
                </option>
              ))}
            </select>
            <p id={`${id}-family-hint`} className="hint">
              For a model at a URL: its <code>scheduler/scheduler_config.json</code> and{' '}
              <code>model_index.json</code> say which it is; choose one where they do not.
            </p>
          </div>
          <div className="field">
            <label htmlFor={`${id}-backend`}>Backend</label>
            <select
              id={`${id}-backend`}
              data-testid="backend"
              value={backendChoice}
              onChange={(e) => setBackendChoice(e.target.value)}
            >
              {BACKEND_CHOICES.map((b) => (
                <option key={b.value} value={b.value}>
                  {b.label}
                </option>
              ))}
            </select>
          </div>
        </div>
      </details>
    </form>
  );
}
