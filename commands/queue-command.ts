import type { CommandDefinition } from './command.js';
import { describeWait } from './status-text.js';

const SHOWN = 10;

export const queueCommand: CommandDefinition = {
  name: 'queue',
  description: 'Show what is being drawn and what waits, yours first',
  options: [],
  async run(_input, context, services) {
    const active = services.jobs.active();
    if (active.length === 0) {
      await context.reply('The queue is empty.', { private: true });
      return;
    }
    const isMine = (job: (typeof active)[number]) => job.owner.platform === context.user.platform && job.owner.userId === context.user.id;
    const line = (job: (typeof active)[number]) =>
      `• ${isMine(job) ? 'you' : job.owner.name}: “${job.request.prompt.slice(0, 60)}” — ${job.position === 0 ? 'drawing now' : describeWait(job.position, job.etaMs)} (job ${job.id.slice(0, 8)})`;
    const mine = active.filter(isMine);
    const others = active.filter((job) => !isMine(job));
    const lines = [`${active.length} image${active.length === 1 ? '' : 's'} in the queue.`, ...mine.map(line), ...others.slice(0, SHOWN).map(line)];
    if (others.length > SHOWN) lines.push(`…and ${others.length - SHOWN} more.`);
    await context.reply(lines.join('\n'), { private: true });
  },
};
