import { access } from 'node:fs/promises';
import { InferenceSession } from './onnx-runtime.js';
import { errorMessage, UserError } from '../../core/errors.js';
import { executionProvidersFor, type Device } from './execution-device.js';
import { OnnxComponent } from './onnx-component.js';

export interface SessionLoaderOptions {
  readonly device: Device;
  /** Threads for one operator; 0 lets onnxruntime choose (one per physical core). */
  readonly threads: number;
  /** Which GPU of several (DEVICE_ID); 0 by default. */
  readonly deviceId?: number;
  /** Told once when the device could not be used and the CPU took over. */
  readonly onDeviceFallback?: (device: Device, reason: string) => void;
}

/**
 * Opens model files as sessions on the configured device. When the device cannot be used (CUDA binaries not
 * installed, no WebGPU adapter) it says so once and uses the CPU for this and every later session.
 */
export class SessionLoader {
  #device: Device;
  readonly #options: SessionLoaderOptions;

  constructor(options: SessionLoaderOptions) {
    this.#device = options.device;
    this.#options = options;
  }

  get device(): Device {
    return this.#device;
  }

  /**
   * `memoryPattern: false` for graphs a render runs once or twice per shape (an upscaler's tiles): onnxruntime plans
   * a memory pattern on a shape's second run, which then costs as much as the first (FSRCNN 1.0 s instead of 0.2 s),
   * and only pays from the third. The diffusion graphs keep it: the SDXL UNet's first step took 12.1–13.7 s with it and
   * 14.5–17.6 s without (two runs each).
   */
  async load(file: string, options: { readonly memoryPattern?: boolean } = {}): Promise<OnnxComponent> {
    try {
      await access(file);
    } catch {
      throw new UserError(`model file not found: ${file}`);
    }
    try {
      return new OnnxComponent(file, await InferenceSession.create(file, { ...this.#sessionOptions(this.#device), enableMemPattern: options.memoryPattern ?? true }));
    } catch (error) {
      if (this.#device === 'cpu') throw new UserError(`cannot load ${file}: ${errorMessage(error)}`);
      const failed = this.#device;
      this.#device = 'cpu';
      this.#options.onDeviceFallback?.(failed, errorMessage(error));
      return this.load(file, options);
    }
  }

  #sessionOptions(device: Device): InferenceSession.SessionOptions {
    return {
      executionProviders: executionProvidersFor(device, this.#options.deviceId),
      graphOptimizationLevel: 'all',
      // onnxruntime writes its own coloured line to stderr for a failed run besides throwing; the thrown error carries
      // the same words, and the bot reports it in its own format (a UserError for a size, a logged bug otherwise).
      logSeverityLevel: 4,
      ...(this.#options.threads > 0 ? { intraOpNumThreads: this.#options.threads } : {}),
    };
  }
}
