import { SCHEDULER_NAMES } from '../src/diffusion/schedulers/scheduler-registry.js';
import type { CommandDefinition } from './command.js';
import { imagineCommand } from './imagine-command.js';

export const helpCommand: CommandDefinition = {
  name: 'help',
  description: 'How to use the bot',
  options: [],
  async run(_input, context, services) {
    const { syntax } = context;
    const startsFromPictures = services.pictures !== undefined;
    const options = imagineCommand.options.filter(
      (option) => option.name !== 'prompt' && (option.name !== 'private' || context.supportsPrivate) && ((option.name !== 'image' && option.name !== 'strength') || startsFromPictures),
    );
    const models = services.models.installed();
    await context.reply(
      [
        `**${syntax.command('imagine')}** \`prompt\` — draws a picture. Options: ${options.map((option) => `\`${syntax.option(option.name)}\``).join(', ')} (aspect ratios 1:1, 3:2, 2:3, 16:9, 9:16).`,
        `**${syntax.command('queue')}** — what is being drawn and what waits. **${syntax.command('cancel')}** — cancel your latest image (or a job id).`,
        ...(services.defaults === undefined ? [] : [`**${syntax.command('settings')}** — your own defaults (aspect, steps, model, private); alone, shows them.`]),
        ...(services.usage === undefined ? [] : [`**${syntax.command('usage')}** — your pictures and render time, and what is left of your daily allowance (admins: \`${syntax.option('scope')}\` server or all).`]),
        ...(services.dashboard === undefined ? [] : [`**${syntax.command('web')}** — a private sign-in link to the web gallery and live queue.`]),
        'Under each picture: 🎲 reroll (new seed), 🔀 variations (nearby seeds), ℹ️ parameters, 🗑️ delete (yours only). Under a grid (`count` 2-4): U1… upscales that picture, V1… makes a new grid of variations of it.',
        `Samplers (\`${syntax.option('scheduler')}\`): ${SCHEDULER_NAMES.join(', ')}; the model's own by default.`,
        `Models: ${models.length === 0 ? 'none installed yet' : models.join(', ')} (default ${services.models.defaultModel}).`,
      ].join('\n'),
      { private: true },
    );
  },
};
