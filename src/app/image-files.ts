/**
 * Handing a PNG to the user: a download, or the clipboard. Both take the PNG bytes that already
 * carry the generation parameters (src/pipeline/png-export.ts).
 */

export function pngBlob(bytes: Uint8Array): Blob {
  // A copy into a plain ArrayBuffer: Blob parts must not be views of shared memory.
  return new Blob([new Uint8Array(bytes)], { type: 'image/png' });
}

export function downloadPng(bytes: Uint8Array, fileName: string): void {
  const url = URL.createObjectURL(pngBlob(bytes));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.click();
  // The download has started by then; the URL only has to outlive the click.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function pngFileName(p: { seed: number; steps: number }): string {
  return `sdxl-turbo-${p.seed}-${p.steps}step.png`;
}

/**
 * Copies the image to the clipboard. Returns what to tell the user: browsers allow this only on
 * a secure page, after a click, and (Firefox before 127, some WebViews) not at all for images.
 */
export async function copyPngToClipboard(bytes: Uint8Array): Promise<string> {
  const clipboard = globalThis.navigator?.clipboard;
  if (!clipboard?.write || typeof ClipboardItem === 'undefined') {
    return 'This browser does not let pages copy images: use Download PNG instead.';
  }
  try {
    await clipboard.write([new ClipboardItem({ 'image/png': pngBlob(bytes) })]);
    return 'Image copied to the clipboard (the parameters stay in the downloaded PNG only).';
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return `The browser refused to copy the image (${why}). Use Download PNG instead.`;
  }
}
