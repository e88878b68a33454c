/**
 * `npm run bench`: the project's benchmarks (measurements, not tests), each reported as ratios
 * against a baseline measured in the same run.
 *
 *   npm run bench                      # all
 *   npm run bench -- --only live [--model-dir DIR]   # live typing pacing (issue 4), full VAE
 *                                    # against TAESDXL previews (issue 16)
 *   npm run bench -- --only storage [--size-mb 1024] [--chunk-mb 16]   # weight storage (issue 3)
 *   npm run bench -- --only pipeline [--model-dir DIR] [--images 5] [--steps 1] [--size 512]
 *                                    # WebGPU pipeline vs bare session.run (issue 8)
 */
import { benchLiveTyping, printLiveTyping } from './live-typing.ts';
import { ensureTinyTestModel } from './test-model.ts';

const args = process.argv.slice(2);
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
if (onlyAt >= 0) args.splice(onlyAt, 2);
// The storage benchmark reads its own options from argv.
process.argv = [...process.argv.slice(0, 2), ...args];

if (only === undefined || only === 'live') {
  // Run alone, it may be given a model directory (one with taesdxl/ for the preview half).
  const at = only === 'live' ? args.indexOf('--model-dir') : -1;
  const modelDir = at >= 0 && args[at + 1] ? args[at + 1]! : ensureTinyTestModel();
  printLiveTyping(await benchLiveTyping(modelDir), modelDir);
}
if (only === undefined || only === 'storage') {
  await import('./storage.ts');
}
if (only === undefined || only === 'pipeline') {
  // Its default --model-dir is the tiny fp32 set; make it when no other directory is given.
  if (!args.some((a) => a.startsWith('--model-dir'))) ensureTinyTestModel();
  // Each benchmark reads its own options; run alone, it gets all of them.
  if (only === undefined) process.argv = process.argv.slice(0, 2);
  await import('./pipeline.ts');
}
