import { ErrorAlert } from './ErrorAlert';
import { GenerateControls } from './GenerateControls';
import { InputImagePanel } from './InputImagePanel';
import { ModelSettings } from './ModelSettings';
import { OfflineAndUpdates } from './OfflineAndUpdates';
import { OutputPanel } from './OutputPanel';
import { RestartNotice } from './RestartNotice';
import { CapabilitiesLine, StatusLine } from './StatusLine';
import { CapabilityPanel } from './CapabilityPanel';
import { Gallery } from './Gallery';
import { useShortcuts } from './shortcuts';
import { ThemeToggle } from './ThemeToggle';
import { useOptionalHistoryStore } from '../state/react';

export function App() {
  useShortcuts();
  // The gallery needs its store; a unit render of <App/> without one simply has no gallery.
  const history = useOptionalHistoryStore();
  return (
    <div className="app">
      <header className="app-header">
        <h1>SDXL Turbo in the browser</h1>
        <CapabilitiesLine />
        <ThemeToggle />
      </header>
      {/* Phones: status, prompt, image, model settings in one column (the image right under
          Generate). Wide screens: controls and model settings left, image right. */}
      <main className="layout">
        <div className="controls">
          <StatusLine />
          <ErrorAlert />
          <RestartNotice />
          <GenerateControls />
          <InputImagePanel />
        </div>
        <OutputPanel />
        {history && (
          <div className="gallery-area">
            <Gallery />
          </div>
        )}
        <div className="model-area">
          <ModelSettings />
          <CapabilityPanel />
        </div>
      </main>
      <footer className="app-footer">
        Runs entirely on your device with onnxruntime-web. Nothing you type leaves this browser.
        <OfflineAndUpdates />
      </footer>
    </div>
  );
}
