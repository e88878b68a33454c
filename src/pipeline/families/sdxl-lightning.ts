/**
 * SDXL-Lightning 4-step (ByteDance/SDXL-Lightning, progressive adversarial distillation of
 * SDXL): 4 steps of the Euler *discrete* scheduler with trailing timesteps (diffusers'
 * EulerDiscreteScheduler, as its model card configures it), trained at 1024×1024, no
 * guidance. The web build (Cyronius/sdxl-lightning-4step-onnx-web-fp16-3shard) ships fp16
 * graphs with float32 inputs and outputs, the fp16-fix VAE decoder and no VAE encoder.
 *
 * Steps: the 4-step checkpoint is distilled for exactly 4 steps; ByteDance publishes separate
 * 1-, 2- and 8-step checkpoints because running a checkpoint with another step count than its
 * own gives blurred or overcooked images. So only 4 is offered.
 */
import { VAE_SCALING_FACTOR } from '../conditioning.ts';
import { schedulerClassOf, stringField, type ModelFamily } from './family.ts';
import {
  SDXL_GRAPH_CONTRACT,
  SDXL_SCHEDULER_BASE,
  SDXL_TEXT_TO_IMAGE_GRAPHS,
} from './sdxl-graphs.ts';

export const SDXL_LIGHTNING = {
  id: 'sdxl-lightning',
  displayName: 'SDXL-Lightning (4-step)',
  summary:
    '4 steps at 1024×1024 (Turbo: 1 step at 512×512), so each image takes several times longer.',
  graphs: {
    required: SDXL_TEXT_TO_IMAGE_GRAPHS,
    // No VAE encoder in its build: text-to-image only.
    optional: [],
    contract: SDXL_GRAPH_CONTRACT,
    floatIo: 'float32',
  },
  conditioning: { kind: 'sdxl-two-clip', guidance: false },
  // SDXL's own VAE latent space (the fp16-fix VAE keeps SDXL's scaling factor).
  denoise: { scheduler: 'euler-discrete', vaeScalingFactor: VAE_SCALING_FACTOR },
  // EulerDiscreteScheduler.from_config(sdxl_base.scheduler.config, timestep_spacing="trailing"),
  // as SDXL-Lightning's model card sets it up.
  schedulerConfig: {
    _class_name: 'EulerDiscreteScheduler',
    ...SDXL_SCHEDULER_BASE,
    interpolation_type: 'linear',
    use_karras_sigmas: false,
  },
  steps: { choices: [4], default: 4 },
  // Trained at 1024×1024 (and SDXL's other ~1 MP buckets); 768×768 is offered as the
  // faster, softer choice for smaller GPUs.
  sizes: {
    choices: [
      { width: 1024, height: 1024, label: '1024×1024 (native)' },
      { width: 896, height: 1152, label: '896×1152 (portrait)' },
      { width: 1152, height: 896, label: '1152×896 (landscape)' },
      { width: 768, height: 768, label: '768×768 (faster, softer)' },
    ],
    default: { width: 1024, height: 1024 },
  },
  imageToImage: false,
  recognise: (files) =>
    schedulerClassOf(files) === 'EulerDiscreteScheduler' &&
    // With a scheduler config, its spacing must be trailing: leading (SDXL base's own config)
    // or no spacing (diffusers' default, linspace) is not a Lightning export. Without one,
    // model_index.json naming EulerDiscreteScheduler is all there is to go on.
    (files.schedulerConfig === null ||
      stringField(files.schedulerConfig, 'timestep_spacing') === 'trailing'),
} as const satisfies ModelFamily;
