/**
 * onnxruntime-node, as every module of the bot uses it. onnxruntime 1.30 on Linux and macOS starts Microsoft's 1DS
 * telemetry with the first session; besides sending usage events it leaves an empty `/tmp/mat-debug-<pid>.log` behind
 * every process. A self-hosted bot sends nothing anywhere, so it is switched off before any session exists
 * (`ORT_DISABLE_TELEMETRY=1`, read once when onnxruntime initialises); setting the variable yourself wins.
 */
process.env.ORT_DISABLE_TELEMETRY ??= '1';

export { env, InferenceSession, Tensor, listSupportedBackends } from 'onnxruntime-node';
