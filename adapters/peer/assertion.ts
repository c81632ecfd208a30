/** PROTOCOL §2: one client assertion per request, binding our signature to the method, path and body. */
import { createHash, randomUUID } from 'node:crypto'
import type { GatewayIdentity } from '../../src/ports/region-adapter.js'

export const ASSERTION_TYP = 'tongban-client+jwt'
const TTL_SECONDS = 60

/** base64url(SHA-256(bytes)): the `bsh` claim. */
export function bodySha256(body: string | Buffer): string {
  return createHash('sha256').update(body).digest('base64url')
}

/** The `bsh` claim of an assertion signed with `alg` (PROTOCOL §2): SM3 for SM2, SHA-256 otherwise. */
export function bodyHashFor(body: string | Buffer, alg?: string): string {
  return alg === 'SM2' ? createHash('sm3').update(body).digest('base64url') : bodySha256(body)
}

export interface AssertionRequest {
  clientId: string
  /** The other gateway's id. */
  audience: string
  method: string
  /** The full URL; `htu` is its path and query exactly as sent. */
  url: string
  /** The exact body bytes sent; `bsh` is set when it is non-empty. */
  body?: string | Buffer
  now?: Date
  /** The algorithm to sign with (the peer binding's `signingAlg`, else the gateway's own `identity.alg`). */
  alg?: string
}

/**
 * Signs a fresh assertion: `iss` = `sub` = our client id, `aud` = the other gateway, `iat`, `exp` = `iat` + 60,
 * a random `jti`, `htm`, `htu`, and `bsh` for a body (SM3 when signed with SM2). The identity adds `alg` and
 * `kid` to the header.
 */
export function signAssertion(identity: GatewayIdentity, r: AssertionRequest): Promise<string> {
  const url = new URL(r.url)
  const iat = Math.floor((r.now ?? new Date()).getTime() / 1000)
  const claims: Record<string, unknown> = {
    iss: r.clientId,
    sub: r.clientId,
    aud: r.audience,
    iat,
    exp: iat + TTL_SECONDS,
    jti: randomUUID(),
    htm: r.method.toUpperCase(),
    htu: url.pathname + url.search,
  }
  if (r.body !== undefined && r.body.length > 0) claims.bsh = bodyHashFor(r.body, r.alg)
  return r.alg ? identity.sign(claims, ASSERTION_TYP, r.alg) : identity.sign(claims, ASSERTION_TYP)
}
