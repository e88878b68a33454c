/**
 * SDXL Turbo (stabilityai/sdxl-turbo): adversarially distilled SDXL, 1-4 steps with Euler
 * ancestral sampling, trained at 512×512, no guidance. Exports may include a VAE encoder,
 * which gives image-to-image.
 */
import { VAE_SCALING_FACTOR } from '../conditioning.ts';
import { schedulerClassOf, type ModelFamily } from './family.ts';
import {
  SDXL_GRAPH_CONTRACT,
  SDXL_SCHEDULER_BASE,
  SDXL_TEXT_TO_IMAGE_GRAPHS,
} from './sdxl-graphs.ts';

export const SDXL_TURBO = {
  id: 'sdxl-turbo',
  displayName: 'SDXL Turbo',
  summary: '1-4 steps (1 is its sweet spot) at 512×512; image-to-image with a VAE encoder.',
  graphs: {
    required: SDXL_TEXT_TO_IMAGE_GRAPHS,
    optional: ['vaeEncoder'],
    contract: SDXL_GRAPH_CONTRACT,
    floatIo: 'graph',
  },
  conditioning: { kind: 'sdxl-two-clip', guidance: false },
  denoise: { scheduler: 'euler-ancestral', vaeScalingFactor: VAE_SCALING_FACTOR },
  // stabilityai/sdxl-turbo's scheduler/scheduler_config.json.
  schedulerConfig: { _class_name: 'EulerAncestralDiscreteScheduler', ...SDXL_SCHEDULER_BASE },
  steps: { choices: [1, 2, 3, 4], default: 1 },
  // Trained at 512×512; coherent up to about 768 on a side, and every extra pixel costs UNet
  // and VAE time and GPU memory, so nothing larger is offered.
  sizes: {
    choices: [
      { width: 512, height: 512, label: '512×512 (native)' },
      { width: 512, height: 768, label: '512×768 (portrait)' },
      { width: 768, height: 512, label: '768×512 (landscape)' },
      { width: 576, height: 448, label: '576×448 (4:3-ish)' },
      { width: 448, height: 576, label: '448×576 (3:4-ish)' },
      { width: 640, height: 640, label: '640×640' },
      { width: 768, height: 768, label: '768×768 (slow)' },
    ],
    default: { width: 512, height: 512 },
  },
  imageToImage: true,
  recognise: (files) => schedulerClassOf(files) === 'EulerAncestralDiscreteScheduler',
} as const satisfies ModelFamily;
