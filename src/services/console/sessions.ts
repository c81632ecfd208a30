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
import { looksLikePersonToken, personTokenId, verifyPersonToken } from '../../security/tokens.js'
import { type AuditOrigin, bindOrigin } from '../audit-trail/context.js'
import type { AuditTrail } from '../audit-trail/trail.js'
import type { Ctx } from '../context.js'

export interface SessionDeps {
  sessions: SessionStore
  tokens: TokenStore
  clock: Clock
  /** A session ends after this long without a request. */
  idleMs: number
  /** … and this long after sign-in in any case (default 12 h). */
  maxAgeMs?: number
  /** The audit trail sign-ins (successful or not) and sign-outs are recorded in. */
  trail?: AuditTrail | undefined
}

export const SESSION_COOKIE = 'tb_session'
const COOKIE_PATTERN = /^[A-Za-z0-9_-]{43}$/

export interface LiveSession {
  caller: PersonCaller
  csrf: string
}

const hashOf = (secret: string) => createHash('sha256').update(secret, 'utf8').digest()

/**
 * Opens a session for the holder of `token`; `from` is where the request came from, for the audit trail.
 * Nobody is signed in yet: the caller is null.
 * @throws AppError `unauthenticated` for an unknown, malformed or revoked token
 */
export async function signIn(
  { deps }: Ctx<SessionDeps, null>,
  { token, from }: { token: string; from?: AuditOrigin | undefined },
): Promise<{ cookie: string; csrf: string; caller: PersonCaller }> {
  // The token's id (not secret) names what was tried; never the token itself.
  const tried = personTokenId(token)
  const target = tried === undefined ? null : `token:${tried}`
  let caller: PersonCaller
  try {
    if (!looksLikePersonToken(token)) throw new AppError('unauthenticated', 'unknown token')
    caller = await verifyPersonToken(token, deps.tokens)
  } catch (error) {
    if (error instanceof AppError) {
      await deps.trail
        ?.record(
          null,
          {
            action: 'session.sign_in',
            target,
            outcome: 'refused',
            reason: `${error.code}: ${error.message}`,
            actor: { kind: 'anonymous', id: null, name: null, role: null },
          },
          from,
        )
        .catch(() => undefined)
    }
    throw error
  }
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
  if (from) bindOrigin(caller, from)
  await deps.trail?.record(caller, { action: 'session.sign_in', target, outcome: 'done' }).catch(() => undefined)
  return { cookie, csrf, caller }
}

/** The live session behind a cookie value (and records this request), or null: the caller must sign in. */
export async function sessionOf(
  { deps }: Ctx<SessionDeps, null>,
  cookie: string | undefined,
): Promise<LiveSession | null> {
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

/** Ends the session; `caller` (the session's person, when known) is recorded as signing out. */
export async function signOut(
  { caller, deps }: Ctx<SessionDeps, PersonCaller | null>,
  cookie: string | undefined,
): Promise<void> {
  if (!cookie || !COOKIE_PATTERN.test(cookie)) return
  await deps.sessions.end(hashOf(cookie), deps.clock.now())
  if (caller) {
    await deps.trail
      ?.record(caller, { action: 'session.sign_out', target: `token:${caller.id}`, outcome: 'done' })
      .catch(() => undefined)
  }
}

/** Whether `sent` is the expected CSRF token (compared in constant time); an empty one never matches. */
export function csrfMatches(expected: string, sent: string | undefined | null): boolean {
  if (!sent || !expected) return false
  const a = Buffer.from(expected)
  const b = Buffer.from(sent)
  return a.length === b.length && timingSafeEqual(a, b)
}
