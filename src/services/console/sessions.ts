/**
 * Web console sign-in: a person's token (`tbp_…`) exchanged for a session. The cookie carries 32 random
 * bytes; the store keeps their SHA-256. Each session has its own CSRF token, which every state-changing
 * request made with the cookie must send back (form field or `X-CSRF-Token` header).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { AppError } from '../../errors.js'
import type { PersonCaller, TokenStore } from '../../ports/callers.js'
import type { Clock } from '../../ports/clock.js'
import type { SessionStore } from '../../ports/session-store.js'
import { looksLikePersonToken, verifyPersonToken } from '../../security/tokens.js'

export interface SessionDeps {
  sessions: SessionStore
  tokens: TokenStore
  clock: Clock
  /** A session ends after this long without a request. */
  idleMs: number
  /** … and this long after sign-in in any case (default 12 h). */
  maxAgeMs?: number
}

export const SESSION_COOKIE = 'tb_session'
const COOKIE_PATTERN = /^[A-Za-z0-9_-]{43}$/

export interface LiveSession {
  caller: PersonCaller
  csrf: string
}

const hashOf = (secret: string) => createHash('sha256').update(secret, 'utf8').digest()

/**
 * Opens a session for the holder of `token`.
 * @throws AppError `unauthenticated` for an unknown, malformed or revoked token
 */
export async function signIn(
  deps: SessionDeps,
  token: string,
): Promise<{ cookie: string; csrf: string; caller: PersonCaller }> {
  if (!looksLikePersonToken(token)) throw new AppError('unauthenticated', 'unknown token')
  const caller = await verifyPersonToken(token, deps.tokens)
  const cookie = randomBytes(32).toString('base64url')
  const csrf = randomBytes(24).toString('base64url')
  const now = deps.clock.now()
  await deps.sessions.create({
    secretHash: hashOf(cookie),
    tokenId: caller.id,
    csrf,
    now,
    expiresAt: new Date(now.getTime() + (deps.maxAgeMs ?? 12 * 3600_000)),
  })
  return { cookie, csrf, caller }
}

/** The live session behind a cookie value (and records this request), or null: the caller must sign in. */
export async function sessionOf(deps: SessionDeps, cookie: string | undefined): Promise<LiveSession | null> {
  if (!cookie || !COOKIE_PATTERN.test(cookie)) return null
  const s = await deps.sessions.touch(hashOf(cookie), deps.clock.now(), deps.idleMs)
  if (!s) return null
  return {
    csrf: s.csrf,
    caller: {
      kind: 'person',
      id: s.person.id,
      role: s.person.role,
      region: s.person.region,
      window: s.person.window,
      name: s.person.name,
      ...(s.person.departments ? { departments: s.person.departments } : {}),
    },
  }
}

export async function signOut(deps: SessionDeps, cookie: string | undefined): Promise<void> {
  if (!cookie || !COOKIE_PATTERN.test(cookie)) return
  await deps.sessions.end(hashOf(cookie), deps.clock.now())
}

/** Whether `sent` is the expected CSRF token (compared in constant time); an empty one never matches. */
export function csrfMatches(expected: string, sent: string | undefined | null): boolean {
  if (!sent || !expected) return false
  const a = Buffer.from(expected)
  const b = Buffer.from(sent)
  return a.length === b.length && timingSafeEqual(a, b)
}
