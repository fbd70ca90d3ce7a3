import { UserError } from '../src/core/errors.js';
import type { CommandDefinition } from './command.js';

export const webCommand: CommandDefinition = {
  name: 'web',
  description: 'Get a private one-time link to the web gallery and live queue',
  options: [],
  async run(_input, context, services) {
    if (services.dashboard === undefined) throw new UserError('the web dashboard is not enabled on this bot (its admin sets WEB_PORT)');
    const link = services.dashboard.linkFor(context.user);
    // A sign-in link is a password for fifteen minutes: it is only ever shown to the one who asked.
    await context.reply(`Your sign-in link to the dashboard (works once, for 15 minutes; do not share it): ${link}`, { private: true });
  },
};
