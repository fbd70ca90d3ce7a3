import { actorOf } from '../../commands/chat-user.js';
import type { ChatUser, DashboardLinks } from '../../commands/command.js';
import { UserError } from '../core/errors.js';
import type { SignInStore } from './sign-in-store.js';
import type { Viewer } from './web-viewer.js';

/** Who besides admins may open the dashboard: nobody, or every member of the team (WEB_GALLERY). */
export type GalleryAudience = 'admins' | 'members';

/** Sign-in links for chat users: admins get an admin session; members a member's one (their own rights, as in chat) when the audience allows it. */
export class ChatDashboardLinks implements DashboardLinks {
  constructor(
    readonly store: SignInStore,
    /** The dashboard's address as people's browsers reach it, without a trailing slash. */
    readonly publicUrl: string,
    readonly audience: GalleryAudience,
  ) {}

  linkFor(user: ChatUser): string {
    const actor = actorOf(user);
    let viewer: Viewer;
    if (user.admin !== 'none') viewer = { actor, role: 'admin' };
    else if (this.audience === 'members') viewer = { actor, role: 'member' };
    else throw new UserError('the web dashboard is for the bot’s admins here');
    return signInUrl(this.publicUrl, this.store.issueLink(viewer));
  }
}

export function signInUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/signin/${token}`;
}
