/**
 * Issue 7, hostile input in the real app: a prompt made of everything awkward (markup, emoji
 * with joiners, right-to-left text and direction overrides, control characters, NUL, 10,000
 * characters) either gives an image or a clear message, never a crash; nothing of it is ever
 * run as HTML; and the built page's Content-Security-Policy is in force without blocking
 * anything the app does while loading a model and generating.
 */
import { expect, test } from '@playwright/test';
import { generateImage, openWithModel } from './support/app.ts';

test('a hostile 10,000-character prompt generates, stays text, and trips no CSP rule', async ({
  page,
}) => {
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const cspConsole: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspConsole.push(message.text());
  });

  await openWithModel(page, 'tiny-fp32');
  const policy = await page
    .locator('meta[http-equiv="Content-Security-Policy"]')
    .getAttribute('content');
  expect(policy).toContain("script-src 'self' 'wasm-unsafe-eval'");
  expect(policy).toContain("object-src 'none'");

  const piece =
    '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> ' +
    '🐱‍👤👩🏽‍🚀 قطة على السجادة \u202Eevil\u202C שלום \u0000\u0007\u001b[31m\u0008\u007f\uFEFF ' +
    'a photo of a cat ';
  const prompt = piece.repeat(Math.ceil(10_000 / piece.length)).slice(0, 10_000);
  expect(prompt).toHaveLength(10_000);
  // The first generation compiles every shader on SwiftShader: slow on a busy machine.
  await generateImage(page, { prompt, seed: 3, timeoutMs: 180_000 });

  // The markup stayed text: no element was made from it and no handler ran.
  expect(
    await page.evaluate(() => (window as unknown as { __xss?: number }).__xss),
  ).toBeUndefined();
  await expect(page.locator('img[src="x"]')).toHaveCount(0);
  await expect(page.getByTestId('output')).toHaveAttribute('aria-label', /onerror/);

  expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([]);
  expect(cspConsole).toEqual([]);
});
