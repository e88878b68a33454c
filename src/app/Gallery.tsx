import { useEffect, useId, useState } from 'react';
import { useHistory, useHistoryStoreApi } from '../state/react';
import { HISTORY_LIMIT, type HistoryItem } from '../storage/history-store';
import { usePngUrl } from './object-url';
import {
  DEFAULT_NOISE_GENERATOR,
  UNNAMED_NOISE_GENERATOR,
} from '../pipeline/noise/noise-generators';

/**
 * The history strip: every kept image, newest first. A click puts its settings back into the
 * controls and shows it; each has Delete; Clear all asks first.
 */
export function Gallery() {
  const id = useId();
  const history = useHistoryStoreApi();
  const items = useHistory((s) => s.items);
  const loaded = useHistory((s) => s.loaded);
  const shownId = useHistory((s) => s.shownId);
  const problem = useHistory((s) => s.problem);
  const [confirming, setConfirming] = useState(false);

  useEffect(() => {
    void history.getState().refresh();
  }, [history]);

  return (
    <section
      className="panel gallery"
      aria-labelledby={`${id}-title`}
      data-testid="gallery"
      data-count={items.length}
    >
      <div className="gallery-head">
        <h2 id={`${id}-title`} className="panel-title">
          History
        </h2>
        <p className="hint">
          {items.length} kept in this browser (the newest {HISTORY_LIMIT} are kept). Live mode keeps
          only what you Keep.
        </p>
        {items.length > 0 && !confirming && (
          <button type="button" data-testid="history-clear" onClick={() => setConfirming(true)}>
            Clear all
          </button>
        )}
      </div>
      {confirming && (
        <div className="confirm" role="alertdialog" aria-labelledby={`${id}-confirm`}>
          <p id={`${id}-confirm`}>Delete all {items.length} images from the history?</p>
          <div className="button-row">
            <button
              type="button"
              className="danger"
              data-testid="history-clear-confirm"
              onClick={() => {
                setConfirming(false);
                void history.getState().clear();
              }}
            >
              Delete all
            </button>
            <button type="button" onClick={() => setConfirming(false)} autoFocus>
              Keep them
            </button>
          </div>
        </div>
      )}
      {problem && (
        <p className="hint warn" role="alert">
          {problem}
        </p>
      )}
      {loaded && items.length === 0 && (
        <p className="hint" data-testid="history-empty">
          Generated images appear here.
        </p>
      )}
      <ul className="gallery-strip">
        {items.map((item) => (
          <GalleryItem key={item.entry.id} item={item} shown={item.entry.id === shownId} />
        ))}
      </ul>
    </section>
  );
}

function GalleryItem({ item, shown }: { item: HistoryItem; shown: boolean }) {
  const history = useHistoryStoreApi();
  const url = usePngUrl(item.thumbnail);
  const { entry } = item;
  const when = new Date(entry.createdAt).toLocaleString();
  // Only an image from another generator says which: the seed alone would not make it again.
  const noise = entry.noise ?? UNNAMED_NOISE_GENERATOR;
  const seed = `seed ${entry.seed}${noise === DEFAULT_NOISE_GENERATOR ? '' : ` (${noise} noise)`}`;
  const label = `${entry.prompt || '(empty prompt)'}: ${seed}, ${entry.steps} step${entry.steps > 1 ? 's' : ''}, ${entry.width}×${entry.height}${entry.strength !== undefined ? `, strength ${entry.strength}` : ''}, ${when}`;
  return (
    <li className="gallery-item" data-testid="history-item" data-id={entry.id}>
      <button
        type="button"
        className="gallery-thumb"
        aria-pressed={shown}
        aria-label={`Restore ${label}`}
        title={label}
        data-testid="history-restore"
        onClick={() => history.getState().restore(entry.id)}
      >
        {url && <img src={url} alt="" width={64} height={64} />}
      </button>
      <button
        type="button"
        className="gallery-delete"
        aria-label={`Delete ${label}`}
        title="Delete"
        data-testid="history-delete"
        onClick={() => void history.getState().remove(entry.id)}
      >
        ×
      </button>
    </li>
  );
}
