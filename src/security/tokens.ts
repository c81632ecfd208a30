/**
 * People's bearer tokens (PROTOCOL §2): `tbp_<id>_<secret>`, shown once when an admin issues it and stored
 * only as the SHA-256 of the whole token string. The id is not secret (it names the token in lists and logs).
 */
import { createHash, randomBytes } from 'node:crypto'
import { AppError } from '../errors.js'
import type { PersonCaller, PersonToken, TokenStore } from '../ports/callers.js'

const TOKEN_PATTERN = /^tbp_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/

/**
 * A fresh token: `id` is 12 random hex characters, `secret` 32 random bytes in base64url, `token` the string
 * to hand out once (`tbp_<id>_<secret>`), `hash` what the store keeps (SHA-256 of `token`).
 *
 * @example const { id, token, hash } = newPersonToken(); await tokens.create({ id, role: 'admin', … }, hash)
 */
export function newPersonToken(): { id: string; secret: string; token: string; hash: Buffer } {
  const id = randomBytes(6).toString('hex')
  const secret = randomBytes(32).toString('base64url')
  const token = `tbp_${id}_${secret}`
  return { id, secret, token, hash: hashPersonToken(token) }
}

/** SHA-256 of the whole token string: the key under which a token is stored and looked up. */
export function hashPersonToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

/**
 * Whether `s` has the shape of a person's token (a format check only), so the authentication middleware can
 * tell tokens from client assertions (a JWS never starts with `tbp_`).
 */
export function looksLikePersonToken(s: string): boolean {
  return TOKEN_PATTERN.test(s)
}

/** The id inside something shaped like a person's token (not secret: it names the token), else undefined. */
export function personTokenId(s: string): string | undefined {
  return TOKEN_PATTERN.exec(s)?.[1]
}

/**
 * Resolves a person's token to its caller. Refuses with `AppError('unauthenticated', 'unknown token')` when
 * the token is malformed or not stored, and `'token revoked'` when it was revoked. The lookup is by the hash,
 * so no comparison of the secret happens in this process (nothing to leak through timing).
 *
 * @example const caller = await verifyPersonToken(bearer, deps.tokens)
 */
export async function verifyPersonToken(token: string, store: TokenStore): Promise<PersonCaller> {
  const match = TOKEN_PATTERN.exec(token)
  if (!match) throw new AppError('unauthenticated', 'unknown token')
  const found = await store.findByHash(hashPersonToken(token))
  // The id inside the string must be the stored one: a store bug cannot hand out someone else's token.
  if (!found || found.id !== match[1]) throw new AppError('unauthenticated', 'unknown token')
  if (found.revokedAt !== null)
    throw new AppError('unauthenticated', 'token revoked', { context: { tokenId: found.id } })
  return {
    kind: 'person',
    id: found.id,
    role: found.role,
    region: found.region,
    window: found.window,
    name: found.name,
    ...(found.departments ? { departments: found.departments } : {}),
  }
}

/**
 * A token store whose `findByHash` answers are reused for `ttlMs` (default 5 s), so that a person's
 * every request does not cost a database round trip. `invalidate()` drops them all at once (the admin
 * verbs call it after a revocation), `drop(id)` one token's (a revocation announced by PostgreSQL, see
 * store/revocation-listener.ts); without that announcement other instances see a revocation within `ttlMs`.
 */
export function cachedTokenLookups(
  store: TokenStore,
  ttlMs = 5_000,
  now: () => number = Date.now,
): TokenStore & { invalidate(): void; drop(id: string): void } {
  const cache = new Map<string, { token: PersonToken | null; at: number }>()
  return {
    create: (token, hash) => store.create(token, hash),
    list: () => store.list(),
    revoke: async (id, at) => {
      const revoked = await store.revoke(id, at)
      cache.clear()
      return revoked
    },
    invalidate: () => cache.clear(),
    drop(id) {
      for (const [k, hit] of cache) if (hit.token?.id === id) cache.delete(k)
    },
    async findByHash(hash) {
      const k = hash.toString('base64')
      const hit = cache.get(k)
      if (hit && now() - hit.at < ttlMs) return hit.token
      const token = await store.findByHash(hash)
      if (cache.size > 10_000) cache.clear()
      cache.set(k, { token, at: now() })
      return token
    },
  }
}
