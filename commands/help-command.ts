import type { CommandDefinition } from './command.js';

export const helpCommand: CommandDefinition = {
  name: 'help',
  description: 'How to use the bot',
  options: [],
  async run(_input, context, services) {
    const models = services.models.installed();
    await context.reply(
      [
        '**/imagine** `prompt` — draws a picture; options: negative (what to leave out), aspect (1:1, 3:2, 2:3, 16:9, 9:16), seed, steps, guidance, model, scheduler, private.',
        '**/queue** — what is being drawn and what waits. **/cancel** — cancel your latest image (or a job id).',
        'Under each picture: 🎲 reroll (new seed), 🔀 variations (nearby seeds), ℹ️ parameters, 🗑️ delete (yours only).',
        `Models: ${models.length === 0 ? 'none installed yet' : models.join(', ')} (default ${services.models.defaultModel}).`,
      ].join('\n'),
      { private: true },
    );
  },
};
