import { z } from 'zod';
import { UserError } from '../core/errors.js';

/**
 * Everything the runner needs to know about a super-resolution model, as data: how pixels enter it, its scale and
 * how to tile it. Installed upscalers keep theirs in `upscaler.json` next to `model.onnx`.
 */
export const upscalerDescriptorSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
  scale: z.number().int().min(2).max(8),
  /**
   * `y`: the Y channel of YCrCb, with Cr and Cb resized bilinearly, as OpenCV does for ESPCN, FSRCNN and LapSRN;
   * `bgr` / `rgb`: all three channels in that order.
   */
  colour: z.enum(['y', 'bgr', 'rgb']),
  /** The value of a full-intensity pixel as the model sees it: 255 (bytes as floats) or 1 (bytes / 255). */
  range: z.union([z.literal(1), z.literal(255)]),
  /** Subtracted before the model and added back after, per model channel, in `range` units. */
  mean: z.tuple([z.number(), z.number(), z.number()]).optional(),
  tile: z.object({
    /** Input pixels per tile side on the CPU, context included; a device with more memory takes larger tiles. */
    size: z.number().int().min(16).max(4096),
    /** The model was exported for exactly this tile size. */
    fixed: z.boolean().default(false),
    /** Pixels of context around each tile's own area, per side. */
    margin: z.number().int().min(0).max(256),
    /** Bytes of activations per input pixel, to size tiles from the memory at hand. */
    bytesPerPixel: z.number().int().positive(),
  }),
  input: z.string().optional(),
  output: z.string().optional(),
  /** Where the weights come from, for `imagine models list`. */
  source: z.string().optional(),
});

export type UpscalerDescriptor = z.infer<typeof upscalerDescriptorSchema>;

const OPENCV_ZOO = 'OpenCV dnn_superres model zoo';

/** The presets the project knows; `imagine models convert … --as NAME` installs one of them. */
export const UPSCALER_PRESETS: readonly UpscalerDescriptor[] = [
  {
    name: 'edsr-x4',
    scale: 4,
    colour: 'bgr',
    range: 255,
    // The DIV2K mean in BGR, exactly as dnn_superres.cpp subtracts it.
    mean: [103.1545782, 111.561547, 114.35629928],
    tile: { size: 128, fixed: false, margin: 32, bytesPerPixel: 256 * 4 * 3 },
    source: `${OPENCV_ZOO}: EDSR_x4.pb (Saafke/EDSR_Tensorflow)`,
  },
  {
    name: 'lapsrn-x4',
    scale: 4,
    colour: 'y',
    range: 1,
    tile: { size: 256, fixed: false, margin: 24, bytesPerPixel: 64 * 4 * 3 * 4 },
    source: `${OPENCV_ZOO}: LapSRN_x4.pb (fannymonori/TF-LapSRN)`,
  },
  {
    name: 'fsrcnn-x4',
    scale: 4,
    colour: 'y',
    range: 1,
    tile: { size: 256, fixed: false, margin: 16, bytesPerPixel: 56 * 4 * 3 },
    source: `${OPENCV_ZOO}: FSRCNN_x4.pb (Saafke/FSRCNN_Tensorflow)`,
  },
  {
    name: 'espcn-x4',
    scale: 4,
    colour: 'y',
    range: 1,
    tile: { size: 256, fixed: false, margin: 8, bytesPerPixel: 64 * 4 * 3 },
    source: `${OPENCV_ZOO}: ESPCN_x4.pb (fannymonori/TF-ESPCN)`,
  },
  {
    name: 'realesrgan-x4',
    scale: 4,
    colour: 'rgb',
    range: 1,
    tile: { size: 128, fixed: true, margin: 16, bytesPerPixel: 64 * 4 * 4 },
    source: 'qualcomm/Real-ESRGAN-x4plus (Real-ESRGAN-x4plus.onnx, fixed 128x128 input)',
  },
];

export const OPENCV_PRESETS = ['edsr-x4', 'lapsrn-x4', 'fsrcnn-x4', 'espcn-x4'] as const;

export function findPreset(name: string): UpscalerDescriptor {
  const preset = UPSCALER_PRESETS.find((candidate) => candidate.name === name);
  if (preset === undefined) {
    throw new UserError(`unknown upscaler '${name}': use one of ${UPSCALER_PRESETS.map((p) => p.name).join(', ')}`);
  }
  return preset;
}
