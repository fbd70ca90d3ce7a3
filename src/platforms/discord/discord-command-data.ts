import { ApplicationCommandOptionType, ApplicationIntegrationType, InteractionContextType, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { CommandDefinition, OptionSpec } from '../../../commands/command.js';

type OptionJson = NonNullable<RESTPostAPIChatInputApplicationCommandsJSONBody['options']>[number];

/**
 * Slash-command definitions for Discord's bulk overwrite, from the platform-neutral commands: usable in servers,
 * in DMs with the bot and in private channels, for server installs and user installs.
 */
export function discordCommandData(commands: readonly CommandDefinition[]): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  return commands.map((command) => ({
    name: command.name,
    description: command.description,
    options: [...command.options].sort((a, b) => Number(isRequired(b)) - Number(isRequired(a))).map(optionJson),
    contexts: [InteractionContextType.Guild, InteractionContextType.BotDM, InteractionContextType.PrivateChannel],
    integration_types: [ApplicationIntegrationType.GuildInstall, ApplicationIntegrationType.UserInstall],
  }));
}

function isRequired(option: OptionSpec): boolean {
  return option.kind === 'string' && option.required === true;
}

function optionJson(option: OptionSpec): OptionJson {
  const base = { name: option.name, description: option.description.slice(0, 100) };
  switch (option.kind) {
    case 'string':
      return {
        ...base,
        type: ApplicationCommandOptionType.String,
        required: option.required === true,
        max_length: Math.min(option.maxLength, 6000),
        ...(option.autocomplete === true ? { autocomplete: true } : {}),
      };
    case 'integer':
      return { ...base, type: ApplicationCommandOptionType.Integer, min_value: option.min, max_value: Math.min(option.max, Number.MAX_SAFE_INTEGER) };
    case 'number':
      return { ...base, type: ApplicationCommandOptionType.Number, min_value: option.min, max_value: option.max };
    case 'boolean':
      return { ...base, type: ApplicationCommandOptionType.Boolean };
    case 'choice':
      return { ...base, type: ApplicationCommandOptionType.String, choices: option.choices.slice(0, 25).map((choice) => ({ name: choice, value: choice })) };
    case 'picture':
      return { ...base, type: ApplicationCommandOptionType.Attachment };
  }
}
