import type { AuditEntry } from '../jobs/audit-trail.js';

/** An audit entry as the dashboard shows it: who did what, when, where, to whose picture. */
export interface AuditLine {
  readonly id: number;
  readonly at: number;
  readonly action: string;
  readonly by: string;
  readonly byRole: string;
  readonly via: string;
  readonly where: string;
  readonly jobId?: string;
  readonly jobOwner?: string;
  readonly outcome?: string;
}

const PLATFORM_NAMES: Readonly<Record<string, string>> = { discord: 'Discord', slack: 'Slack' };
const ROLES: Readonly<Record<string, string>> = { global: 'bot admin', community: 'server/workspace admin', none: 'member' };

export function auditLine(entry: AuditEntry): AuditLine {
  const platform = entry.platform === undefined ? undefined : (PLATFORM_NAMES[entry.platform] ?? entry.platform);
  const where = entry.community !== undefined && platform !== undefined ? `${platform}, ${entry.platform === 'discord' ? 'server' : 'workspace'} ${entry.community}` : (platform ?? 'the whole bot');
  return {
    id: entry.id,
    at: entry.at,
    action: entry.action,
    by: entry.actor.owner.name,
    byRole: ROLES[entry.actor.admin] ?? entry.actor.admin,
    via: entry.via,
    where,
    ...(entry.jobId === undefined ? {} : { jobId: entry.jobId }),
    ...(entry.jobOwner === undefined ? {} : { jobOwner: entry.jobOwner.name }),
    ...(entry.outcome === undefined ? {} : { outcome: entry.outcome }),
  };
}
