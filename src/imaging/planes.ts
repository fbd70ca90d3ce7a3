/** Planar float pixels: `channels` planes of height × width, the layout of NCHW tensors. */
export interface Planes {
  readonly data: Float32Array;
  readonly channels: number;
  readonly width: number;
  readonly height: number;
}
