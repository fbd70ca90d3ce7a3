/** Failures before a connection exists: the host was never reached. */
const UNREACHED = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'CERT_HAS_EXPIRED', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT']);

/** What a failed connection means, in a few words, from the error codes Node and undici put on it or its cause. */
const REASONS: Readonly<Record<string, string>> = {
  ENOTFOUND: 'DNS lookup failed',
  EAI_AGAIN: 'DNS lookup failed',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'no route to the network',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  UND_ERR_SOCKET: 'the connection was closed',
  CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its TLS certificate cannot be verified',
  SELF_SIGNED_CERT_IN_CHAIN: 'its TLS certificate cannot be verified',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate cannot be verified',
};

/**
 * Why a request never got an answer ("DNS lookup failed", "connection refused", …), or undefined when the error is
 * not a network failure. `fetch` hides the reason in `cause` (sometimes a level deeper, or in an AggregateError).
 */
export function networkFailure(error: unknown): string | undefined {
  const code = networkErrorCode(error);
  return code === undefined ? undefined : REASONS[code];
}

/** Why a host was never reached (no DNS answer, refused, timed out, a bad certificate), or undefined. */
export function unreachedReason(error: unknown): string | undefined {
  const code = networkErrorCode(error);
  return code !== undefined && UNREACHED.has(code) ? REASONS[code] : undefined;
}

function networkErrorCode(error: unknown): string | undefined {
  for (let at: unknown = error, depth = 0; at !== undefined && at !== null && depth < 4; depth++) {
    const code = (at as { code?: unknown }).code;
    if (typeof code === 'string' && code in REASONS) return code;
    const errors = (at as { errors?: unknown }).errors;
    // Slack's WebClient keeps the failed request's error as `original`.
    if (Array.isArray(errors) && errors.length > 0) at = errors[0];
    else at = (at as { cause?: unknown }).cause ?? (at as { original?: unknown }).original;
  }
  return undefined;
}

/**
 * The one line that says a platform could not be reached at start, or undefined when the error is something else:
 * "cannot reach Slack (slack.com): DNS lookup failed — check the network or a proxy".
 */
export function unreachablePlatform(platform: string, url: string, error: unknown): string | undefined {
  const reason = unreachedReason(error);
  return reason === undefined ? undefined : `cannot reach ${platform} (${new URL(url).host}): ${reason} — check the network or a proxy`;
}
