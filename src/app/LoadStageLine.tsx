import { useAppStore } from '../state/react';
import { formatBytes } from './format';

const STAGE_TEXT = {
  reading: 'reading files',
  'creating-session': 'creating session, uploading weights',
  'warm-up': 'warm-up image',
} as const;

const GRAPH_TEXT: Record<string, string> = {
  textEncoder: 'text encoder',
  textEncoder2: 'text encoder 2',
  unet: 'UNet',
  vaeDecoder: 'VAE decoder',
  vaeEncoder: 'VAE encoder',
  pipeline: 'pipeline',
};

/** One line under the load progress: which graph is loading, at which stage, how far. */
export function LoadStageLine() {
  const stage = useAppStore((s) => s.load?.stage);
  if (!stage) return null;
  const bytes =
    stage.totalBytes > 0
      ? ` (${formatBytes(stage.loadedBytes)} / ${formatBytes(stage.totalBytes)})`
      : stage.loadedBytes > 0
        ? ` (${formatBytes(stage.loadedBytes)})`
        : '';
  return (
    <p
      className="hint load-stage"
      data-testid="load-stage-detail"
      data-graph={stage.graph}
      data-stage={stage.stage}
    >
      {GRAPH_TEXT[stage.graph] ?? stage.graph}: {STAGE_TEXT[stage.stage]}
      {bytes}
    </p>
  );
}
