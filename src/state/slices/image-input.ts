/**
 * Image-to-image input: the picture (fitted to the output size as it arrives) and how much of
 * it is redone. Without an input image the store makes text-to-image requests.
 */
import { DEFAULT_STRENGTH, fitInputImage, normalizeStrength } from '../input-image';
import { sizeOf, type AppActions, type AppData } from '../app-state';
import type { Slice, SliceContext } from './context';

type ImageInputData = Pick<AppData, 'inputImage' | 'strength'>;
type ImageInputActions = Pick<
  AppActions,
  'setInputImage' | 'takeFrameAsInput' | 'clearInputImage' | 'setStrength'
>;

export function createImageInputSlice(
  ctx: SliceContext,
): Slice<ImageInputData & ImageInputActions> {
  const { get, set, edit } = ctx;
  /** Each new input image gets a new version, so the worker can tell it from the last one. */
  let inputImageVersion = 0;
  return {
    on: {},
    state: {
      inputImage: null,
      strength: DEFAULT_STRENGTH,

      setInputImage: (image, name) => {
        const { width, height } = sizeOf(get().size);
        edit({ inputImage: fitInputImage(image, name, ++inputImageVersion, width, height) });
      },
      takeFrameAsInput: () => {
        const { frame } = get();
        if (!frame) return false;
        const pixels = new Uint8ClampedArray(frame.pixels);
        const image = { width: frame.width, height: frame.height, data: pixels };
        get().setInputImage(image, `generated image (seed ${frame.params.seed})`);
        return true;
      },
      clearInputImage: () => edit({ inputImage: null }),
      setStrength: (value) => {
        const strength = normalizeStrength(value);
        if (strength === null) return;
        // Without an input image the strength changes nothing yet: no live request.
        if (get().inputImage) edit({ strength });
        else set({ strength });
      },
    },
  };
}
