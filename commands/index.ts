import { cancelCommand } from './cancel-command.js';
import type { CommandDefinition } from './command.js';
import { helpCommand } from './help-command.js';
import { imagineCommand } from './imagine-command.js';
import { queueCommand } from './queue-command.js';
import { settingsCommand } from './settings-command.js';
import { usageCommand } from './usage-command.js';
import { webCommand } from './web-command.js';

/** Every command the bot offers, on every platform. */
export const COMMANDS: readonly CommandDefinition[] = [imagineCommand, queueCommand, cancelCommand, helpCommand, settingsCommand, usageCommand, webCommand];

export { runJobAction, JOB_ACTIONS, type JobAction } from './job-actions.js';
