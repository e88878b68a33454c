/**
 * Element types of a graph's values, as far as the fp16 converter needs them: which values are
 * float32. Declared types (inputs, outputs, value_info, initializers) first; the rest follow
 * from each operator's output rule, in node order (ONNX graphs are topologically sorted).
 */
import { int64ToNumber, type Attribute, type Graph, type Node } from './schema.ts';

export const FLOAT = 1;
export const FLOAT16 = 10;
const INT64 = 7;
const BOOL = 9;
const STRING = 8;

const BOOLEAN_OUTPUT = new Set([
  'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor',
  'IsNaN', 'IsInf',
]); // prettier-ignore
const INT64_OUTPUT = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'NonMaxSuppression']);

export function attribute(node: Node, name: string): Attribute | undefined {
  return node.attribute?.find((a) => a.name === name);
}

function intAttribute(node: Node, name: string): number | undefined {
  const found = attribute(node, name);
  return found && Object.hasOwn(found, 'i') ? int64ToNumber(found.i) : undefined;
}

/** The element type of each output of `node`, from its rule; undefined where unknown. */
function outputTypes(
  node: Node,
  typeOf: (name: string) => number | undefined,
): Array<number | undefined> {
  const inputs = node.input ?? [];
  const input = (i: number) => (inputs[i] ? typeOf(inputs[i]!) : undefined);
  const op = node.domain && node.domain !== 'ai.onnx' ? '' : (node.opType ?? '');
  switch (op) {
    case 'Constant': {
      const value = node.attribute?.[0];
      if (value?.t) return [value.t.dataType];
      if (value?.name === 'value_float' || value?.name === 'value_floats') return [FLOAT];
      if (value?.name === 'value_int' || value?.name === 'value_ints') return [INT64];
      if (value?.name === 'value_string' || value?.name === 'value_strings') return [STRING];
      return [undefined];
    }
    case 'Cast':
      return [intAttribute(node, 'to')];
    case 'CastLike':
      return [input(1)];
    case 'ConstantOfShape':
      return [attribute(node, 'value')?.t?.dataType ?? FLOAT];
    case 'RandomNormal':
    case 'RandomUniform':
      return [intAttribute(node, 'dtype') ?? FLOAT];
    case 'RandomNormalLike':
    case 'RandomUniformLike':
    case 'EyeLike':
      return [intAttribute(node, 'dtype') ?? input(0)];
    case 'Where':
      return [input(1)];
    case 'TopK':
      return [input(0), INT64];
    case 'DequantizeLinear':
      return [input(1) ?? FLOAT];
    case 'LayerNormalization':
      return [input(0), FLOAT, FLOAT];
    default:
      if (BOOLEAN_OUTPUT.has(op)) return (node.output ?? []).map(() => BOOL);
      if (INT64_OUTPUT.has(op)) return (node.output ?? []).map(() => INT64);
      // Most operators (elementwise, shape moves, MatMul, Conv, norms, Resize ...) output the
      // type of their first input; custom-domain ones are assumed to as well.
      return (node.output ?? []).map(
        () => input(0) ?? inputs.map((_, i) => input(i)).find((t) => t !== undefined),
      );
  }
}

/** Every value name of the graph with its element type where it is known. */
export function inferElementTypes(graph: Graph): Map<string, number> {
  const types = new Map<string, number>();
  const declare = (name: string | undefined, type: number | undefined) => {
    if (name && type !== undefined && type !== 0 && !types.has(name)) types.set(name, type);
  };
  for (const tensor of graph.initializer ?? []) declare(tensor.name, tensor.dataType);
  for (const list of [graph.input, graph.output, graph.valueInfo]) {
    for (const value of list ?? []) declare(value.name, value.type?.tensorType?.elemType);
  }
  for (const node of graph.node ?? []) {
    const types_ = outputTypes(node, (name) => types.get(name));
    (node.output ?? []).forEach((name, i) => declare(name, types_[i]));
  }
  return types;
}
