import { mayManage } from '../src/jobs/job-authority.js';
import { sameCommunity } from '../src/jobs/job.js';
import { actorOf, isOwnedBy, ownerOf } from './chat-user.js';
import type { CommandDefinition } from './command.js';
import { describeHold, describeWait } from './status-text.js';

const SHOWN = 10;

export const queueCommand: CommandDefinition = {
  name: 'queue',
  description: 'Show what is being drawn and what waits, yours first',
  options: [],
  async run(_input, context, services) {
    const active = services.jobs.active();
    const held = describeHold(services.jobs.paused);
    if (active.length === 0) {
      await context.reply(`The queue is empty.${held}`, { private: true });
      return;
    }
    type Entry = (typeof active)[number];
    const me = ownerOf(context.user);
    const actor = actorOf(context.user);
    const isMine = (job: Entry) => isOwnedBy(job, context.user);
    // Other servers' and workspaces' requests are theirs: here they are only counted.
    const isNeighbours = (job: Entry) => !isMine(job) && sameCommunity(job.owner, me);
    const what = (job: Entry) => (job.request.private && !isMine(job) ? 'a private picture' : `“${job.request.prompt.slice(0, 60)}”`);
    const line = (job: Entry) =>
      `• ${isMine(job) ? 'you' : job.owner.name}: ${what(job)} — ${job.position === 0 ? 'drawing now' : describeWait(job)}${mayManage(job, actor) ? ` (job ${job.id.slice(0, 8)})` : ''}`;
    const mine = active.filter(isMine);
    const neighbours = active.filter(isNeighbours);
    const elsewhere = active.length - mine.length - neighbours.length;
    const lines = [`${active.length} image${active.length === 1 ? '' : 's'} in the queue.${held}`, ...mine.map(line), ...neighbours.slice(0, SHOWN).map(line)];
    if (neighbours.length > SHOWN) lines.push(`…and ${neighbours.length - SHOWN} more from here.`);
    if (elsewhere > 0) lines.push(`${elsewhere} ${elsewhere === 1 ? 'is' : 'are'} from other servers or workspaces.`);
    await context.reply(lines.join('\n'), { private: true });
  },
};
