import { ErrorAlert } from './ErrorAlert';
import { GenerateControls } from './GenerateControls';
import { InputImagePanel } from './InputImagePanel';
import { ModelSettings } from './ModelSettings';
import { OfflineAndUpdates } from './OfflineAndUpdates';
import { OutputPanel } from './OutputPanel';
import { RestartNotice } from './RestartNotice';
import { CapabilitiesLine, StatusLine } from './StatusLine';

export function App() {
  return (
    <div className="app">
      <header className="app-header">
        <h1>SDXL Turbo in the browser</h1>
        <CapabilitiesLine />
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
        <div className="model-area">
          <ModelSettings />
        </div>
      </main>
      <footer className="app-footer">
        Runs entirely on your device with onnxruntime-web. Nothing you type leaves this browser.
        <OfflineAndUpdates />
      </footer>
    </div>
  );
}
