import { ErrorAlert } from './ErrorAlert';
import { GenerateControls, GenerationSettings } from './GenerateControls';
import { InputImagePanel } from './InputImagePanel';
import { familyOf } from '../pipeline/families/registry';
import { ModelSettings } from './ModelSettings';
import { OfflineAndUpdates } from './OfflineAndUpdates';
import { OutputPanel } from './OutputPanel';
import { RestartNotice } from './RestartNotice';
import { CapabilitiesLine, StatusLine } from './StatusLine';
import { CapabilityPanel } from './CapabilityPanel';
import { Gallery } from './Gallery';
import { useShortcuts } from './shortcuts';
import { ThemeToggle } from './ThemeToggle';
import { useAppStore, useOptionalHistoryStore } from '../state/react';

export function App() {
  useShortcuts();
  // The gallery needs its store; a unit render of <App/> without one simply has no gallery.
  const history = useOptionalHistoryStore();
  const ready = useAppStore((s) => s.model !== null);
  const imageToImageFamily = familyOf(useAppStore((s) => s.model?.family)).imageToImage;
  return (
    <div className="app">
      <header className="app-header">
        <h1>SDXL Turbo in the browser</h1>
        <CapabilitiesLine />
        <ThemeToggle />
      </header>
      {/* The model panel comes first: while no model is ready it is the first thing to do, and
          once one is, it folds to one line. Phones: one column, the image right after the
          prompt. Wide screens: model, prompt and the other controls left, the image right. */}
      <main className={ready ? 'layout model-ready' : 'layout model-missing'}>
        <div className="side">
          <div className="status-area">
            <StatusLine />
            <ErrorAlert />
            <RestartNotice />
          </div>
          <div className="model-area">
            <ModelSettings />
          </div>
          <div className="controls">
            <GenerateControls />
          </div>
          <div className="extras">
            <GenerationSettings />
            {/* A family without image-to-image (no VAE encoder in its builds) has no input panel. */}
            {imageToImageFamily && <InputImagePanel />}
            <CapabilityPanel />
          </div>
        </div>
        <OutputPanel />
        {history && (
          <div className="gallery-area">
            <Gallery />
          </div>
        )}
      </main>
      <footer className="app-footer">
        Runs entirely on your device with onnxruntime-web. Nothing you type leaves this browser.
        <OfflineAndUpdates />
      </footer>
    </div>
  );
}
