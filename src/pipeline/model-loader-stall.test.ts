/**
 * The loader's stages and its watchdog on the tiny models in Node: every graph reports
 * reading and session creation, Blob external data reaches the runtime through the read
 * tracker, and a stalled source or session creation becomes LoadStalledError naming the graph
 * and the stage instead of a load that never ends.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeModelSet } from '../../scripts/test-model/write-model-set.ts';
import { directorySource, nodeSessionFactory } from '../cli/node-model.ts';
import { FakeClock } from './testing/fake-clock.ts';
import { LoadStalledError, LoadWatchdog, type LoadStageReport } from './load-watchdog.ts';
import { loadSdxlModel, type ModelSource, type SessionFactory } from './model-loader.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'loader-stall-'));
beforeAll(() => {
  writeModelSet(dir, 'fp32');
}, 60_000);

/** The directory, with external data offered as Blobs (as the stored-model source does). */
function blobSource(): ModelSource {
  const base = directorySource(dir);
  return {
    ...base,
    readBlob: async (file, onProgress) => {
      const blob = new Blob([readFileSync(path.join(dir, file))]);
      onProgress?.(blob.size, blob.size);
      return blob;
    },
  };
}

const never = () => new Promise<never>(() => {});

describe('loading stages', () => {
  it('reports reading and session creation for every graph; Blob data loads through the tracker', async () => {
    const reports: LoadStageReport[] = [];
    let sawTrackedBlob = false;
    const factory: SessionFactory = async (graph, model, data) => {
      if (graph === 'unet') {
        // The runtime gets a Blob it can slice and stream (what the JSPI build does).
        const blob = data[0]!.data as Blob;
        expect(blob).toBeInstanceOf(Blob);
        const head = await blob.slice(0, 64).stream().getReader().read();
        sawTrackedBlob = head.value?.byteLength === 64;
      }
      return nodeSessionFactory(graph, model, data);
    };
    const model = await loadSdxlModel(blobSource(), factory, () => {}, {
      watchdog: new LoadWatchdog({ onStage: (r) => reports.push(r) }),
    });
    await model.release();
    expect(sawTrackedBlob).toBe(true);
    const seen = new Set(reports.map((r) => `${r.graph}:${r.stage}`));
    for (const graph of ['textEncoder', 'textEncoder2', 'unet', 'vaeDecoder', 'vaeEncoder']) {
      expect(seen, graph).toContain(`${graph}:reading`);
      expect(seen, graph).toContain(`${graph}:creating-session`);
    }
    const unetData = readFileSync(path.join(dir, 'unet/model.onnx_data')).byteLength;
    const unetSession = reports.filter((r) => r.graph === 'unet' && r.stage === 'creating-session');
    expect(unetSession.at(-1)).toMatchObject({ loadedBytes: 64, totalBytes: unetData });
  }, 60_000);

  it('a source that stops answering fails as a stall of that graph’s reading', async () => {
    const clock = new FakeClock();
    let reached: () => void = () => {};
    const atUnet = new Promise<void>((resolve) => (reached = resolve));
    const source = blobSource();
    // The graph is read as bytes or as a Blob (the loader picks by size): both go silent.
    const stalled: ModelSource = {
      ...source,
      readBytes: (file, onProgress) => {
        if (file !== 'unet/model.onnx') return source.readBytes(file, onProgress);
        reached();
        return never();
      },
      readBlob: (file, onProgress) => {
        if (file !== 'unet/model.onnx') return source.readBlob!(file, onProgress);
        reached();
        return never();
      },
    };
    const result = loadSdxlModel(stalled, nodeSessionFactory, () => {}, {
      watchdog: new LoadWatchdog({ clock }),
    }).catch((e: unknown) => e);
    await atUnet;
    clock.advance(61_000);
    const error = await result;
    expect(error).toBeInstanceOf(LoadStalledError);
    expect(error).toMatchObject({ graph: 'unet', stage: 'reading' });
  }, 60_000);

  it('a session creation that goes silent after reading some weights fails as a stall of that graph', async () => {
    const clock = new FakeClock();
    let reached: () => void = () => {};
    const atRead = new Promise<void>((resolve) => (reached = resolve));
    const reports: LoadStageReport[] = [];
    const factory: SessionFactory = async (graph, model, data) => {
      if (graph !== 'unet') return nodeSessionFactory(graph, model, data);
      // Reads some weights, then waits forever with nothing pending (the runtime's side of
      // the hang; a pending read that never settles is the watchdog test's case).
      const blob = data[0]!.data as Blob;
      await blob.slice(0, 1024).arrayBuffer();
      const reader = blob.slice(1024, 2048).stream().getReader();
      await reader.read();
      reached();
      return never();
    };
    const result = loadSdxlModel(blobSource(), factory, () => {}, {
      watchdog: new LoadWatchdog({ clock, onStage: (r) => reports.push(r) }),
    }).catch((e: unknown) => e);
    await atRead;
    clock.advance(300_000);
    expect(reports.at(-1)).toMatchObject({ graph: 'unet', stage: 'creating-session' });
    clock.advance(301_000);
    const error = await result;
    expect(error).toBeInstanceOf(LoadStalledError);
    expect((error as Error).message).toMatch(/^Loading stalled: unet, creating its session/);
  }, 60_000);
});
