/**
 * Image-to-image helpers for the browser tests: test PNGs, the input panel, and the Node
 * runner's reference with `--image`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, type Page } from '@playwright/test';
import { encode } from 'fast-png';
import { readCanvas } from './app.ts';
import { type RgbaImage } from './reference.ts';

const scratch = mkdtempSync(path.join(tmpdir(), 'img2img-e2e-'));

/**
 * A 600×400 RGB PNG (not the output's shape, so the cover crop matters): colour ramps, a
 * checkerboard, and a red band on each side that the centre crop to a square cuts off.
 * `variant` changes the ramp direction and the checker size.
 */
export function writePatternPng(name: string, variant: number): string {
  const width = 600;
  const height = 400;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const side = x < 100 || x >= 500;
      const checker = ((x >> (4 + variant)) + (y >> (4 + variant))) % 2;
      const ramp = Math.round(((variant ? 599 - x : x) * 255) / 599);
      data[i] = side ? 255 : ramp;
      data[i + 1] = side ? 0 : Math.round((y * 255) / 399);
      data[i + 2] = side ? 0 : checker ? 230 : 20;
    }
  }
  const file = path.join(scratch, name);
  writeFileSync(file, encode({ width, height, data, channels: 3, depth: 8 }));
  return file;
}

/** Picks `file` in the input panel and waits until its preview shows. */
export async function pickInputImage(page: Page, file: string): Promise<void> {
  const preview = page.getByTestId('input-preview');
  const before = (await preview.count()) ? await preview.getAttribute('data-version') : null;
  await page.getByTestId('input-file').setInputFiles(file);
  await expect(preview).toBeVisible();
  await expect.poll(() => preview.getAttribute('data-version')).not.toBe(before);
}

/** The input preview's pixels: the fitted image the page sends to the worker. */
export function readInputPreview(page: Page): Promise<RgbaImage> {
  return readCanvas(page, 'input-preview');
}

/** Moves the strength slider (a range input: set its value the way a user's drag does). */
export async function setStrength(page: Page, strength: number): Promise<void> {
  await page.getByTestId('strength').evaluate((el, value) => {
    const input = el as HTMLInputElement;
    const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')?.set;
    setter?.call(input, String(value));
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }, strength);
}
