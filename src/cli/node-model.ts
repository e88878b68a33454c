import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import type { ModelSource, SessionFactory } from '../pipeline/model-loader.ts';
import { OrtGraphSession } from '../pipeline/ort/ort-session.ts';

/** Model files from a local directory in the standard export layout. */
export function directorySource(dir: string): ModelSource {
  const resolve = (file: string) => path.join(dir, ...file.split('/'));
  return {
    locate: resolve,
    readText: (file) => readFile(resolve(file), 'utf8'),
    readBytes: async (file, onProgress) => {
      const bytes = new Uint8Array(await readFile(resolve(file)));
      onProgress?.(bytes.byteLength, bytes.byteLength);
      return bytes;
    },
  };
}

/** onnxruntime-web's wasm backend in Node: the same runtime code as the browser fallback. */
export const nodeSessionFactory: SessionFactory = async (_graph, model, externalData) => {
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['wasm'],
    externalData: externalData.map((f) => ({ path: f.path, data: f.data })),
    graphOptimizationLevel: 'all',
  });
  return new OrtGraphSession(ort, session);
};
