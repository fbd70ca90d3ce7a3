import { DiscordAPIError, REST, Routes } from 'discord.js';
import { errorMessage } from '../../core/errors.js';

export type TokenCheck = { readonly status: 'accepted'; readonly detail: string } | { readonly status: 'refused' | 'unreachable'; readonly detail: string };

/** Asks Discord which application the token belongs to, and whether it is the configured one. */
export async function checkDiscordToken(token: string, applicationId: string, apiUrl?: string): Promise<TokenCheck> {
  const rest = new REST({ version: '10', timeout: 10_000, retries: 0, ...(apiUrl === undefined ? {} : { api: apiUrl }) }).setToken(token);
  try {
    const application = (await rest.get(Routes.currentApplication())) as { id: string; name: string; bot?: { username?: string } };
    if (application.id !== applicationId) {
      return { status: 'refused', detail: `the token belongs to application ${application.id}, but DISCORD_APPLICATION_ID is ${applicationId}: copy both from the same application` };
    }
    return { status: 'accepted', detail: `token accepted: application ${application.name}, bot ${application.bot?.username ?? application.name}` };
  } catch (error) {
    if (error instanceof DiscordAPIError && error.status === 401) return { status: 'refused', detail: 'DISCORD_TOKEN was refused: reset it under Bot in the Discord developer portal' };
    return { status: 'unreachable', detail: `could not reach Discord (${errorMessage(error)}); the token was not checked` };
  }
}
