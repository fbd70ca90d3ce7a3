import type { Config } from '../config.js';
import { parseDevice } from '../diffusion/onnx/execution-device.js';
import { SessionLoader } from '../diffusion/onnx/session-loader.js';

/** A session loader for the command line: device and threads from the options or the config, warnings on stderr. */
export function cliSessionLoader(config: Config, device: string | undefined, threads: number | undefined): SessionLoader {
  return new SessionLoader({
    device: device === undefined ? config.DEVICE : parseDevice(device),
    threads: threads ?? config.THREADS,
    onDeviceFallback: (failed, reason) => {
      process.stderr.write(`warning: ${failed} is not available (${reason.split('\n')[0]}); running on the CPU\n`);
    },
  });
}
