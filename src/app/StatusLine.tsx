import type { AppStatus } from '../state/store';
import { useAppStore } from '../state/react';

const STATUS_TEXT: Record<AppStatus, string> = {
  starting: 'Starting the engine…',
  idle: 'Load a model to begin',
  loading: 'Loading the model…',
  ready: 'Ready',
  generating: 'Generating…',
  error: 'Error',
};

/** One-word state of the app; `data-state` is what tests wait on. */
export function StatusLine() {
  const status = useAppStore((s) => s.status);
  return (
    <p className="status" data-testid="status" data-state={status} role="status">
      <span className="status-dot" aria-hidden="true" />
      {STATUS_TEXT[status]}
    </p>
  );
}

/** What the worker found in this browser: WebGPU, shader-f16, the adapter. */
export function CapabilitiesLine() {
  const caps = useAppStore((s) => s.capabilities);
  if (!caps) {
    return (
      <p className="capabilities" data-testid="capabilities">
        Checking this browser…
      </p>
    );
  }
  const yesNo = (v: boolean) => (v ? 'yes' : 'no');
  return (
    <p
      className="capabilities"
      data-testid="capabilities"
      data-webgpu={String(caps.webgpu)}
      data-shader-f16={String(caps.shaderF16)}
    >
      WebGPU: {yesNo(caps.webgpu)} · shader-f16: {yesNo(caps.shaderF16)}
      {caps.adapter && <> · GPU: {caps.adapter}</>}
    </p>
  );
}
