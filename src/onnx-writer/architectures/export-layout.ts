/**
 * How an exporter lays a component out, as far as the graphs differ (shared/docs/models.md §2.2, §2.3): Optimum's
 * fp32 export (int64 ids, a scalar float timestep, `model.onnx_data`) and Olive's fp16 one for onnxruntime/sdxl-turbo
 * (everything float16 but the ids, int32 ids for text_encoder, a timestep of shape [1], `model.onnx.data`).
 */
export interface ExportLayout {
  readonly name: string;
  readonly precision: 'float32' | 'float16';
  readonly textEncoderIds: 'int64' | 'int32';
  readonly timestepShape: readonly number[];
  readonly dataFile: string;
}

export const OPTIMUM_FP32: ExportLayout = { name: 'fp32', precision: 'float32', textEncoderIds: 'int64', timestepShape: [], dataFile: 'model.onnx_data' };

export const OLIVE_FP16: ExportLayout = { name: 'fp16', precision: 'float16', textEncoderIds: 'int32', timestepShape: [1], dataFile: 'model.onnx.data' };
