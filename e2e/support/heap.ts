/**
 * JS heap figures after a full garbage collection, through the Chrome DevTools Protocol: for a
 * page (its own CDP session) and for a dedicated worker, which Playwright gives no CDP session
 * of its own, so the browser session attaches to the worker target and relays messages.
 */
import type { Browser, CDPSession, Page } from '@playwright/test';

export type HeapMeter = () => Promise<number>;

export async function pageHeapMeter(page: Page): Promise<HeapMeter> {
  const cdp = await page.context().newCDPSession(page);
  return async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    return (await cdp.send('Runtime.getHeapUsage')).usedSize;
  };
}

/** The heap of the dedicated worker whose script URL contains `urlPart`. */
export async function workerHeapMeter(browser: Browser, urlPart: string): Promise<HeapMeter> {
  const cdp: CDPSession = await browser.newBrowserCDPSession();
  const { targetInfos } = await cdp.send('Target.getTargets');
  const target = targetInfos.find((t) => t.type === 'worker' && t.url.includes(urlPart));
  if (!target) throw new Error(`no worker target with "${urlPart}" in its URL`);
  const { sessionId } = await cdp.send('Target.attachToTarget', {
    targetId: target.targetId,
    flatten: false,
  });
  let nextId = 1;
  const pending = new Map<number, (reply: { result?: unknown; error?: unknown }) => void>();
  cdp.on('Target.receivedMessageFromTarget', (event) => {
    if (event.sessionId !== sessionId) return;
    const reply = JSON.parse(event.message) as { id?: number; result?: unknown };
    if (reply.id !== undefined) pending.get(reply.id)?.(reply);
  });
  const call = async <T>(method: string): Promise<T> => {
    const id = nextId++;
    const reply = new Promise<{ result?: unknown; error?: unknown }>((resolve) =>
      pending.set(id, resolve),
    );
    await cdp.send('Target.sendMessageToTarget', {
      sessionId,
      message: JSON.stringify({ id, method, params: {} }),
    });
    const { result, error } = await reply;
    pending.delete(id);
    if (error) throw new Error(`${method} failed in the worker: ${JSON.stringify(error)}`);
    return result as T;
  };
  return async () => {
    await call('HeapProfiler.collectGarbage');
    return (await call<{ usedSize: number }>('Runtime.getHeapUsage')).usedSize;
  };
}
