import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';

interface Manifest {
  features: { slash_commands: { command: string; url: string }[]; app_home: { messages_tab_enabled: boolean } };
  oauth_config: { scopes: { bot: string[] } };
  settings: { event_subscriptions: { bot_events: string[]; request_url: string }; interactivity: { is_enabled: boolean; request_url: string }; socket_mode_enabled: boolean };
}

test('the Slack manifest declares what the adapter uses: /imagine, its scopes, mentions, buttons, one events URL', async () => {
  const manifest = JSON.parse(await readFile(new URL('../../../slack/manifest.json', import.meta.url), 'utf8')) as Manifest;
  assert.deepEqual(manifest.features.slash_commands.map((command) => command.command), ['/imagine']);
  // chat.postMessage/update/delete, the three upload steps and files.delete, conversations.open for the DM fallback.
  assert.deepEqual([...manifest.oauth_config.scopes.bot].sort(), ['app_mentions:read', 'channels:read', 'chat:write', 'commands', 'files:read', 'files:write', 'groups:read', 'im:write', 'team:read']);
  assert.deepEqual(manifest.settings.event_subscriptions.bot_events, ['app_mention']);
  assert.equal(manifest.settings.interactivity.is_enabled, true);
  assert.equal(manifest.settings.socket_mode_enabled, true);
  assert.equal(manifest.features.app_home.messages_tab_enabled, true, 'users can receive the direct-message fallback');
  const urls = new Set([manifest.features.slash_commands[0].url, manifest.settings.event_subscriptions.request_url, manifest.settings.interactivity.request_url]);
  assert.deepEqual([...urls], ['https://YOUR-HOST/slack/events'], 'Bolt answers everything on /slack/events');
});
