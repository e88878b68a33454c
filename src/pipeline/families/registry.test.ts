import { describe, expect, it } from 'vitest';
import { TensorDataType } from '../onnx/schema.ts';
import { MODEL_FILES } from '../model-layout.ts';
import {
  DEFAULT_FAMILY,
  MODEL_FAMILIES,
  familyOf,
  isFamilyId,
  recogniseFamily,
} from './registry.ts';
import type { ModelFamily } from './family.ts';
import { ONNX_ELEMENT } from './sdxl-graphs.ts';
import { SDXL_LIGHTNING } from './sdxl-lightning.ts';
import { SDXL_TURBO } from './sdxl-turbo.ts';

/**
 * Config files as the exports ship them. Turbo: stabilityai/sdxl-turbo's
 * scheduler/scheduler_config.json. Lightning: SDXL base's EulerDiscreteScheduler config with
 * timestep_spacing "trailing", as SDXL-Lightning's model card builds it
 * (EulerDiscreteScheduler.from_config(pipe.scheduler.config, timestep_spacing="trailing")), and
 * the model_index.json of a diffusers ONNX export that names that scheduler.
 */
const TURBO_SCHEDULER = {
  _class_name: 'EulerAncestralDiscreteScheduler',
  _diffusers_version: '0.24.0.dev0',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  num_train_timesteps: 1000,
  prediction_type: 'epsilon',
  steps_offset: 1,
  timestep_spacing: 'trailing',
  trained_betas: null,
};
const LIGHTNING_SCHEDULER = {
  ...TURBO_SCHEDULER,
  _class_name: 'EulerDiscreteScheduler',
  interpolation_type: 'linear',
  sample_max_value: 1.0,
  use_karras_sigmas: false,
};
const indexNaming = (scheduler: string) => ({
  _class_name: 'ORTStableDiffusionXLPipeline',
  scheduler: ['diffusers', scheduler],
  unet: ['diffusers', 'OnnxRuntimeModel'],
});

describe('model family registry', () => {
  it('has unique ids, the first family as default, and known ids only', () => {
    const ids = MODEL_FAMILIES.map((f) => f.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(DEFAULT_FAMILY).toBe(SDXL_TURBO);
    expect(isFamilyId('sdxl-lightning')).toBe(true);
    expect(isFamilyId('sd15')).toBe(false);
    expect(familyOf(undefined)).toBe(SDXL_TURBO);
    expect(familyOf('no-such-family')).toBe(SDXL_TURBO);
    expect(familyOf('sdxl-lightning')).toBe(SDXL_LIGHTNING);
  });

  it('every family declares consistent choices', () => {
    for (const family of MODEL_FAMILIES as readonly ModelFamily[]) {
      expect(family.steps.choices).toContain(family.steps.default);
      const sizes = family.sizes.choices.map((s) => `${s.width}x${s.height}`);
      const { width, height } = family.sizes.default;
      expect(sizes).toContain(`${width}x${height}`);
      for (const s of family.sizes.choices) {
        expect(s.width % 64, `${family.id} ${s.label}`).toBe(0);
        expect(s.height % 64, `${family.id} ${s.label}`).toBe(0);
      }
      // Image-to-image needs a VAE encoder the family's builds can have.
      expect(family.imageToImage).toBe(family.graphs.optional.includes('vaeEncoder'));
      // The scheduler config the generator writes is one the family recognises.
      expect(family.recognise({ schedulerConfig: family.schedulerConfig, modelIndex: null })).toBe(
        true,
      );
    }
  });

  it('declares SDXL-Lightning as its web build is: Euler discrete, SDXL VAE scale, 4 steps, 1024², no encoder', () => {
    expect(SDXL_LIGHTNING.denoise).toEqual({
      scheduler: 'euler-discrete',
      vaeScalingFactor: 0.13025,
    });
    expect(SDXL_LIGHTNING.steps).toEqual({ choices: [4], default: 4 });
    expect(SDXL_LIGHTNING.sizes.default).toEqual({ width: 1024, height: 1024 });
    expect(SDXL_LIGHTNING.imageToImage).toBe(false);
    expect(SDXL_LIGHTNING.graphs.floatIo).toBe('float32');
    expect(SDXL_TURBO.denoise).toEqual({ scheduler: 'euler-ancestral', vaeScalingFactor: 0.13025 });
    expect(SDXL_TURBO.steps).toEqual({ choices: [1, 2, 3, 4], default: 1 });
  });

  it('the contract spells ONNX element types as onnx/schema.ts does', () => {
    expect(ONNX_ELEMENT).toEqual({
      FLOAT: TensorDataType.FLOAT,
      INT32: TensorDataType.INT32,
      INT64: TensorDataType.INT64,
      FLOAT16: TensorDataType.FLOAT16,
    });
    expect(MODEL_FILES.vaeEncoder).toBe('vae_encoder/model.onnx');
  });
});

describe('recogniseFamily', () => {
  it('recognises SDXL-Lightning from an EulerDiscreteScheduler config with trailing spacing', () => {
    expect(
      recogniseFamily({
        schedulerConfig: LIGHTNING_SCHEDULER,
        modelIndex: indexNaming('EulerDiscreteScheduler'),
      }),
    ).toBe(SDXL_LIGHTNING);
  });

  it('recognises it from model_index.json alone when the scheduler config is missing', () => {
    expect(
      recogniseFamily({ schedulerConfig: null, modelIndex: indexNaming('EulerDiscreteScheduler') }),
    ).toBe(SDXL_LIGHTNING);
  });

  it('recognises SDXL Turbo from its Euler ancestral config', () => {
    expect(
      recogniseFamily({
        schedulerConfig: TURBO_SCHEDULER,
        modelIndex: indexNaming('EulerAncestralDiscreteScheduler'),
      }),
    ).toBe(SDXL_TURBO);
  });

  it('the scheduler config wins over model_index.json', () => {
    expect(
      recogniseFamily({
        schedulerConfig: LIGHTNING_SCHEDULER,
        modelIndex: indexNaming('EulerAncestralDiscreteScheduler'),
      }),
    ).toBe(SDXL_LIGHTNING);
  });

  it("does not take SDXL base's leading-spacing EulerDiscrete config for Lightning", () => {
    const base = { ...LIGHTNING_SCHEDULER, timestep_spacing: 'leading' };
    expect(recogniseFamily({ schedulerConfig: base, modelIndex: null })).toBe(DEFAULT_FAMILY);
    // No spacing in the config: diffusers' default (linspace), not Lightning's trailing.
    const { timestep_spacing: _spacing, ...unspaced } = LIGHTNING_SCHEDULER;
    expect(recogniseFamily({ schedulerConfig: unspaced, modelIndex: null })).toBe(DEFAULT_FAMILY);
  });

  it('takes an export without config files (or with unreadable ones) as the default family', () => {
    expect(recogniseFamily({ schedulerConfig: null, modelIndex: null })).toBe(DEFAULT_FAMILY);
    expect(recogniseFamily({ schedulerConfig: 'not json', modelIndex: [1, 2] })).toBe(
      DEFAULT_FAMILY,
    );
    expect(
      recogniseFamily({ schedulerConfig: { _class_name: 'DDIMScheduler' }, modelIndex: null }),
    ).toBe(DEFAULT_FAMILY);
  });
});
