import { describeProgress } from '../../commands/status-text.js';
import type { RenderProgress } from '../core/progress.js';

/** One short status line on stderr, rewritten in place on a terminal and silent elsewhere. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): ((progress: RenderProgress) => void) | undefined {
  if (!stream.isTTY) return undefined;
  return (progress) => {
    const text = describeProgress(progress);
    stream.write(`\r\x1b[2K${text}${progress.stage === 'done' ? '\n' : ''}`);
  };
}
