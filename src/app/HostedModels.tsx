import type { HostedModelInfo } from '../protocol/messages';
import { useAppStore } from '../state/react';
import { formatBytes } from './format';
import { buildTradeOff } from './model-choice';

/** The choice that is not a hosted build: the model at the URL the user types. */
export const URL_CHOICE = 'url';

/**
 * The SDXL Turbo builds the app knows on public hosts, as options of the model choice: each
 * with its whole name, its size, the trade-off in plain words, and the one suggested for this
 * GPU marked (src/state/model-fit.ts decides).
 */
export function HostedModels(props: {
  name: string;
  choice: string;
  recommended: HostedModelInfo | undefined;
  onPick: (modelId: string) => void;
}) {
  const hosted = useAppStore((s) => s.hostedModels);
  const caps = useAppStore((s) => s.capabilities);
  if (hosted.length === 0) return null;
  return (
    <>
      {caps && !caps.shaderF16 && (
        <p className="hint warning">
          These builds compute in fp16, which needs shader-f16; this GPU/browser lacks it, so they
          would only run on the (very slow) WebAssembly fallback.
        </p>
      )}
      <ul className="choice-options" data-testid="hosted-models">
        {hosted.map((m) => (
          <li key={m.modelId} data-model-id={m.modelId}>
            <label className="choice-option">
              <input
                type="radio"
                name={props.name}
                value={m.modelId}
                checked={props.choice === m.modelId}
                onChange={() => props.onPick(m.modelId)}
              />
              <span className="choice-option-text">
                <span className="choice-name">
                  {m.displayName}
                  {m === props.recommended && <span className="badge">recommended</span>}
                </span>
                <span className="choice-size">
                  about {formatBytes(m.approxBytes)}
                  {m.keptBytes !== undefined &&
                    `, about ${formatBytes(m.keptBytes)} kept (stored as fp16)`}
                </span>
                <span className="hint">{buildTradeOff(m)}</span>
              </span>
            </label>
          </li>
        ))}
      </ul>
    </>
  );
}
