/**
 * Keys revoked as compromised: the rule, the same for every signature that the gateway or an offline
 * verifier checks (results, receipts, recognitions, assertions, evidence bundles). A key revoked at time T
 * verifies only what was signed (`iat`) before T. A published JWKS (the gateway's `/.well-known/jwks.json`,
 * the key snapshots of an evidence bundle) keeps a revoked public key with a `revokedAt` member (ISO 8601),
 * so verifiers without access to the gateway apply the same rule.
 */

/** The JWK member that marks a published key as revoked (ISO 8601 time). */
export const REVOKED_AT = 'revokedAt'

export type Jwks = { keys: Record<string, unknown>[] }

/** Whether a signature made at `iat` (seconds) falls at or after the revocation (then it is refused). */
export function signedAfterRevocation(iat: unknown, revokedAt: Date): boolean {
  // A signature without a usable iat cannot show it predates the revocation.
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return true
  return iat * 1000 >= revokedAt.getTime()
}

/** The reason given for a refusal (starts with the machine word `key_revoked`). */
export function revokedReason(issuer: string, kid: string, revokedAt: Date, iat: unknown): string {
  const signed =
    typeof iat === 'number' && Number.isFinite(iat) ? new Date(iat * 1000).toISOString() : 'an unknown time'
  return `key_revoked: key ${kid} of ${issuer} was revoked at ${revokedAt.toISOString()}, and this was signed at ${signed}`
}

/** The revocation time a published JWK carries, if any (a malformed value counts as revoked since ever). */
export function jwkRevokedAt(jwk: Record<string, unknown>): Date | null {
  const v = jwk[REVOKED_AT]
  if (v === undefined) return null
  const at = typeof v === 'string' ? new Date(v) : new Date(Number.NaN)
  return Number.isNaN(at.getTime()) ? new Date(0) : at
}

/** `jwks` with `revokedAt` set on each key revoked in `revoked` (kid → time); the others unchanged. */
export function markRevoked(jwks: Jwks, revoked: ReadonlyMap<string, Date>): Jwks {
  return {
    keys: jwks.keys.map((k) => {
      const recorded = typeof k.kid === 'string' ? revoked.get(k.kid) : undefined
      const published = jwkRevokedAt(k)
      // Both known: the earlier wins (a revocation only ever moves earlier).
      const at =
        recorded && published ? new Date(Math.min(recorded.getTime(), published.getTime())) : (recorded ?? published)
      return at ? { ...k, [REVOKED_AT]: at.toISOString() } : { ...k }
    }),
  }
}
