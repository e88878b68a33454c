import { useAppStore } from '../state/react';
import { canLoad } from '../state/store';
import { recommendHostedModel } from '../state/model-fit';
import { formatBytes } from './format';

/**
 * The SDXL Turbo builds the app knows on public hosts, with their size and a recommendation
 * from this browser's GPU: the fp16 export where the adapter has shader-f16 and large buffers,
 * the smaller q4f16 build elsewhere. Picking one plans its download like a typed URL.
 */
export function HostedModels() {
  const hosted = useAppStore((s) => s.hostedModels);
  const caps = useAppStore((s) => s.capabilities);
  const ready = useAppStore((s) => canLoad({ ...s, modelUrl: 'x' }));
  const setModelUrl = useAppStore((s) => s.setModelUrl);
  const loadModel = useAppStore((s) => s.loadModel);
  if (hosted.length === 0) return null;
  // The same rule as the capability panel's fit estimate (src/state/model-fit.ts).
  const recommended = recommendHostedModel(hosted, caps);
  return (
    <div className="hosted-models" data-testid="hosted-models">
      <h3 className="panel-subtitle">Or pick a hosted build</h3>
      {caps && !caps.shaderF16 && (
        <p className="hint warning">
          These builds compute in fp16, which needs shader-f16; this GPU/browser lacks it, so they
          would only run on the (very slow) WebAssembly fallback.
        </p>
      )}
      <ul className="file-list">
        {hosted.map((m) => (
          <li key={m.modelId} className="file-line" data-model-id={m.modelId}>
            <span className="file-name" title={m.baseUrl}>
              {m.displayName}
              {m === recommended && <span className="badge">recommended</span>}
            </span>
            <span className="file-bytes">
              ~{formatBytes(m.approxBytes)}
              {m.keptBytes !== undefined && `, ~${formatBytes(m.keptBytes)} kept (stored as fp16)`}
            </span>
            <button
              type="button"
              disabled={!ready}
              onClick={() => {
                setModelUrl(m.baseUrl);
                loadModel(); // plans the download first: nothing is fetched without a go-ahead
              }}
            >
              Choose
            </button>
          </li>
        ))}
      </ul>
      <p className="hint">
        q4f16: the smallest download, 4-bit weights with a slight loss of detail. fp16: full
        quality, a bigger download, and a GPU with shader-f16 and large buffers.
      </p>
    </div>
  );
}
