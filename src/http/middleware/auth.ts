/**
 * Authentication (PROTOCOL §2): `Authorization: Bearer <x>` where x is either a person's token
 * (`tbp_…`) or a system client's per-request assertion (a JWS bound to the method, path and body).
 * Sets `caller`; refuses with 401 otherwise. Authorization is the services' job.
 */
import type { HonoRequest, MiddlewareHandler } from 'hono'
import { getCookie } from 'hono/cookie'
import { AppError } from '../../errors.js'
import type { Caller, ReplayGuard, TokenStore } from '../../ports/callers.js'
import type { Clock } from '../../ports/clock.js'
import { type ClientKeys, verifyClientAssertion } from '../../security/assertion.js'
import { looksLikePersonToken, verifyPersonToken } from '../../security/tokens.js'
import { csrfMatches, SESSION_COOKIE, type SessionDeps, sessionOf } from '../../services/console/sessions.js'
import type { AppEnv } from '../context.js'

export interface AuthDeps {
  audience: string
  clock: Clock
  clients: ClientKeys
  replay: ReplayGuard
  tokens: TokenStore
  /**
   * Records a submission's jti in PostgreSQL (`CaseStore.claimJti`); false when it was recorded before. Given,
   * `POST /v1/cases` leaves its jti to the intake statement instead of `replay` (Redis), and records it here
   * after the request when the service did not (a request refused before the intake).
   */
  claimJti?: ((clientId: string, jti: string, expiresAt: Date) => Promise<boolean>) | undefined
  /** Web console sessions: without `Authorization`, the session cookie authenticates (and CSRF applies). */
  sessions?: SessionDeps
}

const utf8 = new TextDecoder()

/** The route whose jti the service records itself (services/cases/create.ts), in PostgreSQL. */
const INTAKE_PATH = '/v1/cases'

/**
 * The raw body bytes (the assertion's `bsh` is over them), read once. The decoded text is put in the
 * request's body cache too: the JSON validator reads `text`, which hono would otherwise derive from the
 * cached bytes through a web `Response`, a measurable share of an intake's CPU. The decoding is the one
 * `Request.text()` does (UTF-8, malformed sequences replaced).
 */
async function rawBody(req: HonoRequest): Promise<Uint8Array> {
  const bytes = new Uint8Array(await req.arrayBuffer())
  // The cache holds promises at run time, whatever its declared type says.
  const cache = req.bodyCache as Record<string, Promise<unknown> | undefined>
  cache.text ??= Promise.resolve(utf8.decode(bytes))
  return bytes
}

export function authenticate(deps: AuthDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization')
    const cookie = deps.sessions && header === undefined ? getCookie(c, SESSION_COOKIE) : undefined
    if (deps.sessions && cookie !== undefined) {
      const session = await sessionOf({ caller: null, deps: deps.sessions }, cookie)
      if (!session) throw new AppError('unauthenticated', 'the console session has ended: sign in again')
      if (
        !['GET', 'HEAD', 'OPTIONS'].includes(c.req.method) &&
        !csrfMatches(session.csrf, c.req.header('x-csrf-token'))
      ) {
        throw new AppError('forbidden', 'send the session’s CSRF token in X-CSRF-Token')
      }
      c.set('caller', session.caller)
      c.get('logFields').caller = `person:${session.caller.id}`
      return next()
    }
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
    if (!match?.[1]) throw new AppError('unauthenticated', 'send Authorization: Bearer <assertion or token>')
    const credential = match[1]
    let caller: Caller
    if (looksLikePersonToken(credential)) {
      caller = await verifyPersonToken(credential, deps.tokens)
    } else {
      const url = new URL(c.req.url)
      const method = c.req.method
      const body = method === 'GET' || method === 'HEAD' ? null : await rawBody(c.req)
      caller = await verifyClientAssertion({
        token: credential,
        method,
        pathAndQuery: url.pathname + url.search,
        body,
        audience: deps.audience,
        now: deps.clock.now(),
        clients: deps.clients,
        replay: deps.replay,
        // A submission records its jti in PostgreSQL, in the intake's own statement: no Redis needed.
        deferReplay: deps.claimJti !== undefined && method === 'POST' && url.pathname === INTAKE_PATH,
      })
    }
    c.set('caller', caller)
    const fields = c.get('logFields')
    fields.caller = `${caller.kind}:${caller.id}`
    await next()
    // Refused before the intake recorded it (a schema error, say): recorded now, and a second use is a 401
    // like any replayed assertion's, whatever the route would have answered.
    const assertion = caller.kind === 'client' ? caller.assertion : undefined
    const deferred = assertion?.deferredReplay
    if (assertion && deferred && !deferred.claimed && deps.claimJti) {
      deferred.claimed = true
      if (!(await deps.claimJti(caller.id, assertion.jti, deferred.expiresAt))) {
        throw new AppError('unauthenticated', 'jti already used')
      }
    }
  }
}
