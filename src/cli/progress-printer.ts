import type { RenderProgress } from '../core/progress.js';

/** One short status line on stderr, rewritten in place on a terminal and silent elsewhere. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): ((progress: RenderProgress) => void) | undefined {
  if (!stream.isTTY) return undefined;
  return (progress) => {
    const text = describeProgress(progress);
    stream.write(`\r\x1b[2K${text}${progress.stage === 'done' ? '\n' : ''}`);
  };
}

export function describeProgress(progress: RenderProgress): string {
  switch (progress.stage) {
    case 'loading':
      return `loading ${progress.component}…`;
    case 'encoding-prompt':
      return 'encoding the prompt…';
    case 'denoising':
      return `step ${progress.step}/${progress.total}`;
    case 'decoding':
      return 'decoding…';
    case 'upscaling':
      return `upscaling tile ${progress.tile}/${progress.tiles}`;
    case 'saving':
      return 'saving…';
    case 'done':
      return 'done';
  }
}
