import type { InferenceSession } from 'onnxruntime-node';

/** The element types the engine knows how to feed and read. */
export type ElementType = 'float32' | 'float16' | 'int32' | 'int64' | 'bool';

const SUPPORTED: ReadonlySet<string> = new Set<ElementType>(['float32', 'float16', 'int32', 'int64', 'bool']);

/** One input or output of a session as its metadata declares it: name, element type and (symbolic) shape. */
export interface TensorSpec {
  readonly name: string;
  readonly type: ElementType;
  /** A number for a fixed dimension, a string for a named dynamic one, -1 for an unnamed dynamic one. */
  readonly shape: readonly (number | string)[];
}

export function tensorSpecFromMetadata(metadata: InferenceSession.ValueMetadata, file: string): TensorSpec {
  if (!metadata.isTensor) throw new Error(`${file}: '${metadata.name}' is not a tensor`);
  if (!SUPPORTED.has(metadata.type)) {
    throw new Error(`${file}: '${metadata.name}' has element type ${metadata.type}; expected one of ${[...SUPPORTED].join(', ')}`);
  }
  return { name: metadata.name, type: metadata.type as ElementType, shape: [...metadata.shape] };
}

export function isFloatType(type: ElementType): boolean {
  return type === 'float32' || type === 'float16';
}

/** Whether a dimension accepts the given size: dynamic dimensions accept anything. */
export function dimensionAccepts(dimension: number | string, size: number): boolean {
  return typeof dimension === 'string' || dimension < 0 || dimension === size;
}

export function describeShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}
