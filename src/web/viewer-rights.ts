import { ownerKey, type JobOwner } from '../jobs/job.js';
import type { GalleryAudience } from './dashboard-links.js';
import type { Viewer } from './web-viewer.js';

/** Whether someone is, right now, an admin of the server or workspace they signed in from (asks the platform). */
export type CommunityAdminCheck = (owner: JobOwner) => Promise<boolean>;

export interface ViewerRightsOptions {
  /** `platform:userId` keys of the bot's admins (ADMINS) as this run knows them. */
  readonly globalAdmins: ReadonlySet<string>;
  /** Who besides admins may open the dashboard now (WEB_GALLERY). */
  readonly audience: GalleryAudience;
  /** Asks a platform whether a community admin still is one; absent: no community admin keeps such rights. */
  readonly communityAdmin?: CommunityAdminCheck;
  /** How long a platform's answer is trusted before it is asked again. */
  readonly recheckMs?: number;
  readonly clock?: () => number;
  readonly onError?: (error: unknown) => void;
}

interface Standing {
  isAdmin: boolean;
  checkedAt: number;
  checking: boolean;
}

/**
 * What a dashboard session may do now, not what it might at sign-in: the bot's admins as ADMINS says today, a
 * community admin as their platform says (asked again every few minutes, in the background, so a request only reads
 * memory), and members only while WEB_GALLERY lets members in. A session whose person may no longer open the
 * dashboard at all has no rights.
 */
export class ViewerRights {
  readonly #options: ViewerRightsOptions;
  readonly #standing = new Map<string, Standing>();
  readonly #clock: () => number;

  constructor(options: ViewerRightsOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
  }

  /** The viewer with the rights they have now, or undefined when they may no longer use the dashboard. */
  current(viewer: Viewer): Viewer | undefined {
    const { owner } = viewer.actor;
    // The host's admin signed in on the machine itself.
    if (owner.platform === 'host') return viewer;
    const key = ownerKey(owner);
    if (this.#options.globalAdmins.has(key)) return { actor: { owner, admin: 'global' }, role: 'admin' };
    if (viewer.actor.admin === 'community' && this.#stillCommunityAdmin(owner)) return { actor: { owner, admin: 'community' }, role: 'admin' };
    return this.#options.audience === 'members' ? { actor: { owner, admin: 'none' }, role: 'member' } : undefined;
  }

  /**
   * A community admin's standing, from the platform's last answer; a stale one is asked again in the background. Until
   * a first answer comes, the standing the platform gave at sign-in holds.
   */
  #stillCommunityAdmin(owner: JobOwner): boolean {
    const check = this.#options.communityAdmin;
    if (check === undefined) return false;
    const key = `${ownerKey(owner)}@${owner.community ?? ''}`;
    let standing = this.#standing.get(key);
    if (standing === undefined) {
      standing = { isAdmin: true, checkedAt: -Infinity, checking: false };
      this.#standing.set(key, standing);
    }
    if (!standing.checking && this.#clock() - standing.checkedAt >= (this.#options.recheckMs ?? 5 * 60_000)) {
      const asked = standing;
      asked.checking = true;
      check(owner)
        .then((isAdmin) => { asked.isAdmin = isAdmin; })
        .catch((error: unknown) => {
          // Unknown counts as no: a platform that cannot be asked keeps no one's admin rights alive.
          asked.isAdmin = false;
          this.#options.onError?.(error);
        })
        .finally(() => {
          asked.checking = false;
          asked.checkedAt = this.#clock();
        });
    }
    return standing.isAdmin;
  }
}

/**
 * The platforms that can say whether someone is still an admin of their server, registered as each connects (the
 * dashboard starts before them). A platform that cannot say keeps nobody's community admin rights.
 */
export class CommunityAdminChecks {
  readonly #checks = new Map<string, (userId: string, community: string) => Promise<boolean>>();

  register(platform: string, check: (userId: string, community: string) => Promise<boolean>): void {
    this.#checks.set(platform, check);
  }

  readonly check: CommunityAdminCheck = (owner) => {
    const check = this.#checks.get(owner.platform);
    return check === undefined || owner.community === undefined ? Promise.resolve(false) : check(owner.userId, owner.community);
  };
}

/** Whether two views of one person give the same rights (a stream opened with the old ones must end). */
export function sameRights(a: Viewer, b: Viewer): boolean {
  return a.role === b.role && a.actor.admin === b.actor.admin;
}
