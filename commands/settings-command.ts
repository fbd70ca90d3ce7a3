import { UserError } from '../src/core/errors.js';
import { MAX_COUNT, MAX_STEPS } from '../src/diffusion/render-settings.js';
import { USER_DEFAULT_NAMES, type UserDefaults } from '../src/jobs/user-defaults.js';
import { ASPECT_RATIOS, sizeForAspectRatio } from './aspect-ratio.js';
import { ownerOf } from './chat-user.js';
import type { CommandContext, CommandDefinition, CommandInput, CommandServices, OptionValue } from './command.js';

export const settingsCommand: CommandDefinition = {
  name: 'settings',
  description: 'Your own defaults for /imagine (aspect, count, steps, model, private); alone, shows them',
  options: [
    { kind: 'choice', name: 'aspect', description: 'Your default aspect ratio', choices: ASPECT_RATIOS },
    { kind: 'integer', name: 'count', description: `Your default number of pictures, 1-${MAX_COUNT} (a grid from 2)`, min: 1, max: MAX_COUNT },
    { kind: 'integer', name: 'steps', description: 'Your default number of steps', min: 1, max: MAX_STEPS },
    { kind: 'string', name: 'model', description: 'Your default model', maxLength: 100, autocomplete: true },
    { kind: 'boolean', name: 'private', description: 'Show your pictures to you only, by default' },
    { kind: 'boolean', name: 'reset', description: 'Forget your defaults (the bot’s apply again)' },
  ],
  async run(input, context, services) {
    const store = services.defaults;
    if (store === undefined) throw new UserError('this bot keeps no personal defaults');
    const owner = ownerOf(context.user);
    const given = USER_DEFAULT_NAMES.filter((name) => input[name] !== undefined);
    if (input.reset === true) {
      if (given.length > 0) throw new UserError('reset forgets every default; give it alone');
      store.setUserDefaults(owner, {});
      await context.reply('Your defaults are forgotten: /imagine uses the bot’s again.', { private: true });
      return;
    }
    const current = store.userDefaults(owner);
    if (given.length === 0) {
      await context.reply(describeDefaults(current, context), { private: true });
      return;
    }
    const updated: UserDefaults = { ...current, ...readChanges(input, services) };
    store.setUserDefaults(owner, updated);
    await context.reply(`Saved. ${describeDefaults(updated, context)}`, { private: true });
  },
};

function optionText(value: OptionValue, name: string): string {
  if (typeof value !== 'string') throw new UserError(`${name} must be text`);
  return value;
}

/** The options given, checked as /imagine would check them. */
function readChanges(input: CommandInput, services: CommandServices): UserDefaults {
  const changes: { -readonly [K in keyof UserDefaults]: UserDefaults[K] } = {};
  if (input.aspect !== undefined) {
    const aspect = optionText(input.aspect, 'aspect');
    sizeForAspectRatio(aspect, 512);
    changes.aspect = aspect;
  }
  if (input.steps !== undefined) {
    if (typeof input.steps !== 'number' || !Number.isInteger(input.steps) || input.steps < 1 || input.steps > MAX_STEPS) throw new UserError(`steps must be a whole number from 1 to ${MAX_STEPS}`);
    changes.steps = input.steps;
  }
  if (input.count !== undefined) {
    if (typeof input.count !== 'number' || !Number.isInteger(input.count) || input.count < 1 || input.count > MAX_COUNT) throw new UserError(`count must be a whole number from 1 to ${MAX_COUNT}`);
    changes.count = input.count;
  }
  if (input.model !== undefined) {
    const model = optionText(input.model, 'model');
    const installed = services.models.installed();
    if (!installed.includes(model)) throw new UserError(`unknown model '${model}': choose one of ${installed.join(', ')}`);
    changes.model = model;
  }
  if (input.private !== undefined) changes.private = input.private === true;
  return changes;
}

function describeDefaults(defaults: UserDefaults, context: CommandContext): string {
  const parts = [
    ...(defaults.aspect === undefined ? [] : [`aspect ${defaults.aspect}`]),
    ...(defaults.count === undefined ? [] : [defaults.count === 1 ? 'one picture' : `grids of ${defaults.count}`]),
    ...(defaults.steps === undefined ? [] : [`${defaults.steps} steps`]),
    ...(defaults.model === undefined ? [] : [`model ${defaults.model}`]),
    ...(defaults.private === undefined ? [] : [defaults.private ? `private${context.supportsPrivate ? '' : ' (where the platform allows it)'}` : 'not private']),
  ];
  if (parts.length === 0) return `You have no defaults of your own: /imagine uses the bot’s. Set some with ${context.syntax.command('settings')}.`;
  return `Your defaults: ${parts.join(', ')}. An option you type still wins; ${context.syntax.command('settings')} ${context.syntax.option('reset')} forgets them.`;
}

/**
 * The options of an /imagine with the person's defaults filled in where they typed nothing, and a note for a
 * default that no longer applies (a model since removed, privacy where the platform has none).
 */
export function withUserDefaults(input: CommandInput, context: CommandContext, services: CommandServices): { input: CommandInput; note?: string } {
  const defaults = services.defaults?.userDefaults(ownerOf(context.user)) ?? {};
  const filled: Record<string, CommandInput[string]> = { ...input };
  const notes: string[] = [];
  if (input.aspect === undefined && defaults.aspect !== undefined) filled.aspect = defaults.aspect;
  if (input.steps === undefined && defaults.steps !== undefined) filled.steps = defaults.steps;
  if (input.count === undefined && defaults.count !== undefined) filled.count = defaults.count;
  if (input.model === undefined && defaults.model !== undefined) {
    if (services.models.installed().includes(defaults.model)) filled.model = defaults.model;
    else notes.push(`your default model ${defaults.model} is not installed any more, so ${services.models.defaultModel} draws it`);
  }
  if (input.private === undefined && defaults.private === true && context.supportsPrivate) filled.private = true;
  return { input: filled, ...(notes.length === 0 ? {} : { note: notes.join('; ') }) };
}
