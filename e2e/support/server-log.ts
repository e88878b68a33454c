/**
 * The test model server's request log and throttle (e2e/support/model-server.ts's /__stats and
 * /__throttle), as the specs read them: which weight files the app fetched, with what ranges.
 */
import type { Page } from '@playwright/test';
import { MODEL_SERVER } from './app.ts';

/** One request the model server answered. */
export interface LoggedRequest {
  method: string;
  path: string;
  range: string | null;
  status: number;
  bytes: number;
}

export async function serverLog(page: Page): Promise<LoggedRequest[]> {
  const response = await page.request.get(`${MODEL_SERVER}/__stats`);
  return ((await response.json()) as { requests: LoggedRequest[] }).requests;
}

export const resetLog = (page: Page) => page.request.post(`${MODEL_SERVER}/__stats/reset`);

/** Bytes per second the server sends at; 0 lifts the limit. */
export const throttle = (page: Page, bps: number) =>
  page.request.post(`${MODEL_SERVER}/__throttle?bps=${bps}`);

/**
 * GETs of model weights: graphs and their external data (`.onnx_data`, sharded `_1`, `_2`, or
 * `.onnx.data`), not tokenizer or config files.
 */
export const weightRequests = (log: LoggedRequest[]) =>
  log.filter((r) => r.method === 'GET' && /\.onnx(_data(_\d+)?|\.data)?$/.test(r.path));
