import { access } from 'node:fs/promises';
import { InferenceSession } from './onnx-runtime.js';
import { errorMessage, UserError } from '../../core/errors.js';
import { executionProvidersFor, type Device } from './execution-device.js';
import { OnnxComponent } from './onnx-component.js';

export interface SessionLoaderOptions {
  readonly device: Device;
  /** Threads for one operator; 0 lets onnxruntime choose (one per physical core). */
  readonly threads: number;
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

  async load(file: string): Promise<OnnxComponent> {
    try {
      await access(file);
    } catch {
      throw new UserError(`model file not found: ${file}`);
    }
    try {
      return new OnnxComponent(file, await InferenceSession.create(file, this.#sessionOptions(this.#device)));
    } catch (error) {
      if (this.#device === 'cpu') throw new UserError(`cannot load ${file}: ${errorMessage(error)}`);
      const failed = this.#device;
      this.#device = 'cpu';
      this.#options.onDeviceFallback?.(failed, errorMessage(error));
      return this.load(file);
    }
  }

  #sessionOptions(device: Device): InferenceSession.SessionOptions {
    return {
      executionProviders: executionProvidersFor(device),
      graphOptimizationLevel: 'all',
      // onnxruntime writes its own coloured line to stderr for a failed run besides throwing; the thrown error carries
      // the same words, and the bot reports it in its own format (a UserError for a size, a logged bug otherwise).
      logSeverityLevel: 4,
      ...(this.#options.threads > 0 ? { intraOpNumThreads: this.#options.threads } : {}),
    };
  }
}
