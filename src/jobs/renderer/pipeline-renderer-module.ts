import { siblingModule } from '../../core/sibling-module.js';

export type { PipelineRendererSettings } from './pipeline-renderer.js';

/**
 * The bot's own renderer module (the render pipelines of the installed models), for a RendererHost. Naming it loads
 * none of it: the chat process never loads onnxruntime, only the renderer process does.
 */
export const PIPELINE_RENDERER = siblingModule(import.meta.url, './pipeline-renderer');
