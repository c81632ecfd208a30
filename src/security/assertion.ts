import { signedAfterRevocation } from '../domain/key-revocation.js'
import { AppError } from '../errors.js'
import type { ClientCaller, ReplayGuard } from '../ports/callers.js'
import type { KeyHeader } from './jwk-set.js'
import { bodyDigest, decodeSegment, isJwsAlg, type JwsKey, verifyCompact } from './jws.js'

export const ASSERTION_TYP = 'tongban-client+jwt'
const LEEWAY_S = 60
const MAX_LIFETIME_S = 300
const MAX_JTI = 128
/** Far above any honest assertion; refuses megabyte headers before any decoding work. */
const MAX_TOKEN_CHARS = 8192

/**
 * The `bsh` claim of an assertion signed with `alg` and the `req` claim of its receipt: base64url(SHA-256(bytes)),
 * or base64url(SM3(bytes)) for SM2 (PROTOCOL §2).
 */
export function bodyHash(bytes: Uint8Array, alg?: string): string {
  return bodyDigest(bytes, alg)
}

export interface VerifyAssertionInput {
  /** The bearer value (without `Bearer `). */
  token: string
  method: string
  /** The request path and query exactly as received, e.g. `/v1/cases?limit=5`. */
  pathAndQuery: string
  /** The raw body bytes as received; null or empty for a bodiless request. */
  body: Uint8Array | null
  /** The gateway id (`aud`). */
  audience: string
  now: Date
  clients: ClientKeys
  replay: ReplayGuard
  /**
   * Leave the jti to the request's own write instead of `replay` (`assertion.deferredReplay` says until when
   * it must be kept): `POST /v1/cases` records it in PostgreSQL in the intake statement.
   */
  deferReplay?: boolean
}

/** A registered client as the verifier needs it: its regions, status, and a resolver for its public keys. */
export interface RegisteredClientKeys {
  id: string
  regions: string[]
  /** The department codes it is limited to (PROTOCOL 1.1 §2); null or absent: not limited. */
  departments?: string[] | null
  status: 'active' | 'revoked'
  /**
   * The candidate verification keys for a header's alg and kid (security/jwk-set.ts); rejects with
   * `AppError('unauthenticated', …)` for an unknown kid.
   */
  keys: (header: KeyHeader) => Promise<JwsKey[]>
  /** Keys revoked as compromised (kid → time): refused from that time on (security/key-revocations.ts). */
  revokedKeys?: ReadonlyMap<string, Date>
}

/**
 * Where assertion keys come from. `client(id)` is asked on every request and is null for an unknown client;
 * its answer must reflect a revocation within seconds. Build it from the client store with `clientKeysFrom`.
 */
export interface ClientKeys {
  client(id: string): Promise<RegisteredClientKeys | null>
}

function refuse(reason: string, context?: Record<string, unknown>): AppError {
  return new AppError('unauthenticated', reason, context ? { context } : {})
}

function segmentOf(segment: string): Record<string, unknown> {
  const value = decodeSegment(segment)
  if (!value) throw refuse('malformed assertion')
  return value
}

async function candidateKeys(keys: RegisteredClientKeys['keys'], header: KeyHeader): Promise<JwsKey[]> {
  try {
    return await keys(header)
  } catch (e) {
    if (e instanceof AppError && e.code === 'unauthenticated') throw e
    throw new AppError('unauthenticated', 'unknown key', { cause: e })
  }
}

/**
 * Verifies a client assertion for one request and returns the caller. Checks, in this order: the header
 * decodes; `alg` is ES256, EdDSA or SM2 (so `none` and HS256 die before any key lookup); `typ` is
 * `tongban-client+jwt`; `kid` is present; `iss` equals `sub`; the client is known and active; the signature
 * verifies with the client's key for `kid` and `alg`; `aud` is the gateway; `iat`/`exp` within 60 s leeway and at most
 * 300 s apart; `jti`; `htm`; `htu`; `bsh` (SM3 for SM2, SHA-256 otherwise); and last the replay claim, so that only verified assertions use
 * up a jti.
 *
 * @example
 * const caller = await verifyClientAssertion({ token, method: 'POST', pathAndQuery: '/v1/cases', body,
 *   audience: 'gw-420300', now: clock.now(), clients, replay })
 */
export async function verifyClientAssertion(input: VerifyAssertionInput): Promise<ClientCaller> {
  const { token } = input
  const parts = token.split('.')
  if (token.length > MAX_TOKEN_CHARS || parts.length !== 3) throw refuse('malformed assertion')
  const header = segmentOf(parts[0]!)
  if (!isJwsAlg(header.alg)) throw refuse('unsupported alg')
  if (header.typ !== ASSERTION_TYP) throw refuse('wrong typ')
  if (typeof header.kid !== 'string' || header.kid === '') throw refuse('missing kid')
  const claims = segmentOf(parts[1]!)

  const { iss, sub } = claims
  if (typeof iss !== 'string' || iss === '') throw refuse('missing iss')
  if (sub !== iss) throw refuse('iss must equal sub')
  const client = await input.clients.client(iss)
  if (!client) throw refuse('unknown client')
  if (client.status !== 'active') throw refuse('client revoked', { clientId: client.id })
  const alg = header.alg
  const keys = await candidateKeys(client.keys, { alg, kid: header.kid })
  if (!keys.some((key) => verifyCompact(token, alg, key))) {
    throw refuse('bad signature', { clientId: client.id })
  }

  const context = { clientId: client.id }
  const { aud, iat, exp, jti, htm, htu, bsh } = claims
  // A key revoked as compromised: nothing it signs is accepted once the revocation time has come.
  const revokedAt = client.revokedKeys?.get(header.kid)
  if (revokedAt && (input.now >= revokedAt || signedAfterRevocation(iat, revokedAt))) {
    throw refuse('key revoked', context)
  }
  if (!(aud === input.audience || (Array.isArray(aud) && aud.includes(input.audience)))) {
    throw refuse('wrong aud', context)
  }
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw refuse('missing iat', context)
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw refuse('missing exp', context)
  const nowS = input.now.getTime() / 1000
  if (exp <= nowS - LEEWAY_S) throw refuse('assertion expired', context)
  if (iat > nowS + LEEWAY_S) throw refuse('iat in the future', context)
  if (exp < iat) throw refuse('exp before iat', context)
  if (exp - iat > MAX_LIFETIME_S) throw refuse('lifetime over 300 s', context)
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI) throw refuse('bad jti', context)
  // HTTP methods are case-sensitive (RFC 9110 §9.1): `post` is not the method of a POST request.
  if (typeof htm !== 'string' || htm !== input.method) throw refuse('htm mismatch', context)
  if (htu !== input.pathAndQuery) throw refuse('htu mismatch', context)

  const hasBody = input.body !== null && input.body.byteLength > 0
  const hash = hasBody ? bodyHash(input.body!, alg) : null
  if (hasBody && bsh === undefined) throw refuse('missing bsh', context)
  if (bsh !== undefined && bsh !== (hash ?? bodyHash(new Uint8Array(0), alg))) throw refuse('bsh mismatch', context)

  const deferredReplay = input.deferReplay
    ? { expiresAt: new Date((exp + LEEWAY_S) * 1000), claimed: false }
    : undefined
  if (!deferredReplay && !(await input.replay.claim(client.id, jti, new Date(exp * 1000)))) {
    throw refuse('jti already used', context)
  }
  return {
    kind: 'client',
    id: client.id,
    regions: [...client.regions],
    ...(client.departments ? { departments: [...client.departments] } : {}),
    assertion: { token, jti, kid: header.kid, alg, bodyHash: hash, ...(deferredReplay ? { deferredReplay } : {}) },
  }
}
