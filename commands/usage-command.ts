import { UserError } from '../src/core/errors.js';
import { formatSeconds, formatWait, type QuotaStanding } from '../src/jobs/quota.js';
import { USAGE_PERIODS, USAGE_REACHES, usageScopeFor, type UsagePeriod, type UsageReach } from '../src/jobs/usage-ledger.js';
import type { UsageFigures, UsageReport } from '../src/jobs/usage-records.js';
import { actorOf, ownerOf } from './chat-user.js';
import type { CommandContext, CommandDefinition } from './command.js';

const PERIOD_WORDS: Readonly<Record<UsagePeriod, string>> = { '24h': 'the last 24 hours', '7d': 'the last 7 days', '30d': 'the last 30 days' };
const SHOWN = 5;

export const usageCommand: CommandDefinition = {
  name: 'usage',
  description: 'Your pictures and render time, and what is left of your allowance; admins: the server’s or everyone’s',
  options: [
    { kind: 'choice', name: 'period', description: 'How far back (default 24h)', choices: Object.keys(USAGE_PERIODS) },
    { kind: 'choice', name: 'scope', description: 'Whose use: yours, this server’s or workspace’s (its admins), all (the bot’s admins)', choices: USAGE_REACHES },
  ],
  async run(input, context, services) {
    const ledger = services.usage;
    if (ledger === undefined) throw new UserError('this bot keeps no usage figures');
    const period = (input.period ?? '24h') as UsagePeriod;
    const reach = (input.scope ?? 'me') as UsageReach;
    const scope = usageScopeFor(actorOf(context.user), reach);
    const report = ledger.report(scope, period);
    const lines = reach === 'me' ? personLines(report, period) : groupLines(report, period, reach === 'all' ? 'Everyone' : context.user.platform === 'slack' ? 'This workspace' : 'This server');
    if (reach === 'me') {
      const standing = ledger.allowance(ownerOf(context.user));
      lines.push(allowanceLine(standing, ledger.over, ledger.now(), context));
    }
    await context.reply(lines.join('\n'), { private: true });
  },
};

function personLines(report: UsageReport, period: UsagePeriod): string[] {
  const lines = [`Your use in ${PERIOD_WORDS[period]}: ${figures(report.totals)}.`];
  if (report.models.length > 1) lines.push(`By model: ${report.models.map((model) => `${model.model} ${figures(model)}`).join(' · ')}`);
  return lines;
}

function groupLines(report: UsageReport, period: UsagePeriod, who: string): string[] {
  const lines = [`${who}, ${PERIOD_WORDS[period]}: ${figures(report.totals)}.`];
  if (report.totals.jobs === 0) return lines;
  lines.push(`Top people: ${report.people.slice(0, SHOWN).map((person, index) => `${index + 1}. ${person.name} ${figures(person)}`).join(' · ')}`);
  lines.push(`Models: ${report.models.slice(0, SHOWN).map((model) => `${model.model} ${figures(model)}`).join(' · ')}`);
  if (report.workers.length > 1) lines.push(`Workers: ${report.workers.slice(0, SHOWN).map((worker) => `${worker.worker} ${formatSeconds(worker.deviceMs / 1000)}`).join(' · ')}`);
  const busiest = report.hoursOfDay.map((hour, index) => ({ index, ...hour })).filter((hour) => hour.jobs > 0).sort((a, b) => b.deviceMs - a.deviceMs).slice(0, 3);
  lines.push(`Busiest hours (UTC): ${busiest.map((hour) => `${String(hour.index).padStart(2, '0')}:00 (${plural(hour.pictures, 'picture')})`).join(', ')}`);
  return lines;
}

function allowanceLine(standing: QuotaStanding | undefined, over: 'refuse' | 'relax', now: number, context: CommandContext): string {
  if (standing === undefined) return 'You have no daily allowance: only the queue’s limits apply.';
  const { limits } = standing;
  const parts: string[] = [];
  if (limits.pictures > 0) parts.push(`${Math.max(0, limits.pictures - standing.pictures - standing.pendingPictures)} of ${plural(limits.pictures, 'picture')}`);
  if (limits.deviceSeconds > 0) parts.push(`${formatSeconds(Math.max(0, limits.deviceSeconds - standing.deviceMs / 1000))} of ${formatSeconds(limits.deviceSeconds)} render time`);
  const left = `Left in your rolling 24 hours: ${parts.join(' and ')}.`;
  if (standing.over === undefined) return left;
  const when = standing.over.availableAt === undefined ? '' : ` in ${formatWait(standing.over.availableAt - now)}`;
  const then = over === 'relax' ? `new pictures wait behind everyone within their allowance until it frees up${when}` : `you can ask again${when || ' once your queued pictures are done'}`;
  return `${left} You are over it: ${then}. ${context.syntax.command('queue')} shows where your pictures stand.`;
}

function figures(value: UsageFigures): string {
  return `${plural(value.pictures, 'picture')} (${plural(value.jobs, 'job')}), ${formatSeconds(value.deviceMs / 1000)} of render time`;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
