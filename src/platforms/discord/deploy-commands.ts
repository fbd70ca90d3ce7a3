import { REST, Routes } from 'discord.js';
import { config as loadDotEnv } from 'dotenv';
import { COMMANDS } from '../../../commands/index.js';
import { loadConfig } from '../../config.js';
import { errorMessage } from '../../core/errors.js';
import { unreachablePlatform } from '../../core/network-error.js';
import { DISCORD_API } from './discord-bot.js';
import { discordCommandData } from './discord-command-data.js';

/**
 * `npm run deploy:discord`: registers the slash commands with one bulk overwrite, in one server when DISCORD_GUILD_ID
 * is set (instant, for testing) or globally. Run it after installing or upgrading, not at every start.
 */
async function deploy(): Promise<number> {
  loadDotEnv({ quiet: true });
  const config = loadConfig();
  if (config.DISCORD_TOKEN === undefined || config.DISCORD_APPLICATION_ID === undefined) {
    process.stderr.write('error: set DISCORD_TOKEN and DISCORD_APPLICATION_ID first (see .env.example)\n');
    return 2;
  }
  const rest = new REST({ version: '10', ...(config.DISCORD_API_URL === undefined ? {} : { api: config.DISCORD_API_URL }) }).setToken(config.DISCORD_TOKEN);
  const route =
    config.DISCORD_GUILD_ID === undefined
      ? Routes.applicationCommands(config.DISCORD_APPLICATION_ID)
      : Routes.applicationGuildCommands(config.DISCORD_APPLICATION_ID, config.DISCORD_GUILD_ID);
  const commands = discordCommandData(COMMANDS);
  try {
    await rest.put(route, { body: commands });
  } catch (error) {
    // The words `npm start` uses when Discord cannot be reached, not a resolver's error code.
    const unreachable = unreachablePlatform('Discord', config.DISCORD_API_URL ?? DISCORD_API, error);
    if (unreachable === undefined) throw error;
    process.stderr.write(`error: ${unreachable}\n`);
    return 1;
  }
  process.stdout.write(`registered ${commands.map((c) => `/${c.name}`).join(', ')} ${config.DISCORD_GUILD_ID === undefined ? 'globally (may take up to an hour to appear)' : `in server ${config.DISCORD_GUILD_ID}`}\n`);
  return 0;
}

deploy().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(`error: ${errorMessage(error)}\n`);
    process.exitCode = 1;
  },
);
