import type { InferenceSession } from 'onnxruntime-node';
import { UserError } from '../../core/errors.js';

export const DEVICES = ['cpu', 'cuda', 'webgpu'] as const;
export type Device = (typeof DEVICES)[number];

export function parseDevice(value: string): Device {
  const device = DEVICES.find((candidate) => candidate === value.toLowerCase());
  if (device === undefined) throw new UserError(`unknown device '${value}': use one of ${DEVICES.join(', ')}`);
  return device;
}

/**
 * The execution-provider list for a session: the device first, the CPU behind it for any op the device lacks.
 * `deviceId` picks one of several GPUs (CUDA; onnxruntime-node's WebGPU always takes the default adapter).
 */
export function executionProvidersFor(device: Device, deviceId = 0): InferenceSession.ExecutionProviderConfig[] {
  if (device === 'cpu') return ['cpu'];
  if (device === 'cuda' && deviceId !== 0) return [{ name: 'cuda', deviceId }, 'cpu'];
  return [device, 'cpu'];
}
