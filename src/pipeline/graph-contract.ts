/**
 * What each graph of an SDXL export must take as input, checked on the graph file's bytes before
 * its session is created: a graph that is not the one the pipeline expects (a UNet without
 * `timestep`, a text encoder for another sequence length, a graph from another model) is refused
 * with a message naming the file and the problem, instead of failing later inside the runtime
 * with a message about tensors. Only what every known export agrees on is required: names, ranks
 * and the fixed sizes of SDXL (77 tokens, 2048 + 1280 conditioning features, 6 time ids, 4 latent
 * channels); batch, height and width may be symbolic, and the timestep's shape differs between
 * exports (scalar, [1], [batch]).
 */
import type { GraphName } from './model-layout.ts';
import type { GraphInput } from './onnx/inspect.ts';
import { ortTypeOf } from './onnx/element-types.ts';
import { SDXL_GRAPH_CONTRACT } from './families/sdxl-graphs.ts';
import { ModelFormatError } from './tensors.ts';

/** What one input of a graph must be. */
export interface InputRule {
  name: string;
  /** Accepted element types (ONNX TensorProto.DataType numbers; any when absent). */
  types?: readonly number[];
  rank?: number;
  /** Axis -> size, where the file fixes that axis. */
  sizes?: Record<number, number>;
  /** Accept a graph whose only input has another name (VAE exports differ in naming). */
  anyNameIfSingle?: boolean;
}

/** Each graph's input rules; a model family declares its own (families/). */
export type GraphContract = Readonly<Record<GraphName, readonly InputRule[]>>;

const typeName = (type: number) => ortTypeOf(type) ?? `type ${type}`;
const shapeText = (dims: ReadonlyArray<number | string | null>) =>
  `[${dims.map((d) => d ?? '?').join(', ')}]`;

/** Throws a ModelFormatError naming `file` when `inputs` break the graph's contract. */
export function checkGraphInputs(
  graph: GraphName,
  file: string,
  inputs: GraphInput[],
  contract: GraphContract = SDXL_GRAPH_CONTRACT,
): void {
  const names = inputs.map((i) => i.name);
  const listed = names.length > 0 ? names.join(', ') : 'none';
  for (const rule of contract[graph]) {
    let input = inputs.find((i) => i.name === rule.name);
    if (!input && rule.anyNameIfSingle && inputs.length === 1) input = inputs[0];
    if (!input) {
      throw new ModelFormatError(
        `${file} has no input "${rule.name}" (its inputs: ${listed}): it is not the ${graph} of an SDXL export`,
      );
    }
    const { elemType, dims } = input;
    if (rule.types && elemType !== null && !rule.types.includes(elemType)) {
      throw new ModelFormatError(
        `${file}: input "${input.name}" is ${typeName(elemType)}, expected ${rule.types.map(typeName).join(' or ')}`,
      );
    }
    if (dims === null) continue; // no declared shape: the session will say
    const expected = () =>
      shapeText(
        Array.from({ length: rule.rank ?? dims.length }, (_, axis) => rule.sizes?.[axis] ?? '*'),
      );
    if (rule.rank !== undefined && dims.length !== rule.rank) {
      throw new ModelFormatError(
        `${file}: input "${input.name}" has shape ${shapeText(dims)}, expected ${expected()}`,
      );
    }
    for (const [axis, size] of Object.entries(rule.sizes ?? {})) {
      const dim = dims[Number(axis)];
      if (typeof dim === 'number' && dim !== size) {
        throw new ModelFormatError(
          `${file}: input "${input.name}" has shape ${shapeText(dims)}, expected ${expected()}`,
        );
      }
    }
  }
}
