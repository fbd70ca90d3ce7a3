import type { Actor } from './job-authority.js';

/**
 * Where a page of the gallery ends: the last picture's finish time and its job's sequence number (two pictures may
 * finish in the same millisecond).
 */
export interface PictureCursor {
  readonly finishedAt: number;
  readonly seq: number;
}

/** What a gallery asks for: finished pictures, the most recently finished first, narrowed by any of these. */
export interface PictureSearch {
  /** Every word must appear in the prompt (any case). */
  readonly words?: readonly string[];
  /** Part of the requester's name (any case). */
  readonly requester?: string;
  readonly model?: string;
  /** Only the searcher's own pictures. */
  readonly mine?: boolean;
  /** Finished at or after this time (ms since the epoch). */
  readonly from?: number;
  /** Finished before this time. */
  readonly until?: number;
  /** The cursor of the previous page: only pictures finished before it. */
  readonly before?: PictureCursor;
  readonly limit: number;
}

export interface SqlFilter {
  readonly where: string;
  readonly params: Record<string, string | number>;
}

/** LIKE's own characters, escaped with `\\`, so that a search for `50%` finds "50%" and nothing else. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}

/**
 * The SQL condition on the `jobs` table for a search as `actor` sees it: only succeeded jobs whose picture is still
 * on disk (neither deleted nor pruned by retention), and only those `mayView` allows. Values travel as parameters,
 * never inside the SQL text.
 */
export function pictureSearchFilter(search: PictureSearch, actor: Actor): SqlFilter {
  const conditions = ["state = 'succeeded'", 'output_pruned = 0', 'result IS NOT NULL'];
  const params: Record<string, string | number> = {};
  (search.words ?? []).forEach((word, index) => {
    conditions.push(`json_extract(request, '$.prompt') LIKE @word${index} ESCAPE '\\'`);
    params[`word${index}`] = likePattern(word);
  });
  if (search.requester !== undefined) {
    conditions.push("user_name LIKE @requester ESCAPE '\\'");
    params.requester = likePattern(search.requester);
  }
  if (search.model !== undefined) {
    conditions.push("json_extract(request, '$.model') = @model");
    params.model = search.model;
  }
  if (search.from !== undefined) {
    conditions.push('finished_at >= @from');
    params.from = Math.floor(search.from);
  }
  if (search.until !== undefined) {
    conditions.push('finished_at < @until');
    params.until = Math.floor(search.until);
  }
  if (search.before !== undefined) {
    conditions.push('(finished_at < @beforeAt OR (finished_at = @beforeAt AND seq < @beforeSeq))');
    params.beforeAt = Math.floor(search.before.finishedAt);
    params.beforeSeq = Math.floor(search.before.seq);
  }
  params.viewerPlatform = actor.owner.platform;
  params.viewerId = actor.owner.userId;
  const own = '(platform = @viewerPlatform AND user_id = @viewerId)';
  if (search.mine === true) conditions.push(own);
  if (actor.admin !== 'global') {
    if (actor.owner.community === undefined) {
      conditions.push(own);
    } else {
      params.viewerCommunity = actor.owner.community;
      const neighbours = `(platform = @viewerPlatform AND community = @viewerCommunity${actor.admin === 'community' ? '' : " AND COALESCE(json_extract(request, '$.private'), 0) = 0"})`;
      conditions.push(`(${own} OR ${neighbours})`);
    }
  }
  return { where: conditions.join(' AND '), params };
}
