/**
 * A protocol client for tests and benchmarks, written only from PROTOCOL §2, as a neighbouring city's system
 * would write it: it makes keys, publishes them as a JWKS, and signs one assertion per request. `overrides`
 * and the `forge…` helpers make the bad assertions that security tests need. It imports nothing from src/.
 */
import { createHash, createHmac, createPublicKey, type JsonWebKey, randomUUID } from 'node:crypto'
import { CompactSign, type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose'
import { bodySm3, newSm2Key, type Sm2Key, sm2Jwk, sm2SignInput } from '../../adapters/sim/sm2.js'

export type ClientAlg = 'ES256' | 'EdDSA' | 'SM2'

export interface ClientKey {
  alg: ClientAlg
  kid: string
  /** jose's key for ES256 and EdDSA (for SM2 a stand-in that jose refuses: sign with {@link signJws}). */
  privateKey: CryptoKey
  /** For SM2: the scalar and point (adapters/sim/sm2.ts). */
  sm2?: Sm2Key
  /** The public key as published: with kid, alg and use. */
  publicJwk: JWK & { kid: string; alg: ClientAlg; use: 'sig' }
  jwks: { keys: [JWK & { kid: string; alg: ClientAlg; use: 'sig' }] }
}

/** A fresh signing key; its kid is its RFC 7638 thumbprint. */
export async function newClientKey(alg: ClientAlg = 'ES256'): Promise<ClientKey> {
  if (alg === 'SM2') {
    const sm2 = newSm2Key()
    const jwk = sm2Jwk(sm2)
    const kid = await calculateJwkThumbprint(jwk)
    const publicJwk = { ...jwk, kid, alg, use: 'sig' as const }
    const privateKey = { type: 'private', algorithm: { name: 'SM2' } } as unknown as CryptoKey
    return { alg, kid, privateKey, sm2, publicJwk, jwks: { keys: [publicJwk] } }
  }
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(jwk)
  const publicJwk = { ...jwk, kid, alg, use: 'sig' as const }
  return { alg, kid, privateKey, publicJwk, jwks: { keys: [publicJwk] } }
}

export interface AssertionOptions {
  clientId: string
  key: ClientKey
  /** The gateway id. */
  audience: string
  method: string
  /** Path and query exactly as sent, e.g. `/v1/cases?limit=5`. */
  pathAndQuery: string
  /** The raw body; `bsh` is set when it is non-empty. */
  body?: string | Uint8Array
  now?: Date
  /** `exp - iat`; default 60. */
  ttlSeconds?: number
  jti?: string
  /** Merged over the header and claims; a value of `undefined` removes that member. */
  overrides?: { header?: Record<string, unknown>; claims?: Record<string, unknown> }
}

function bytesOf(body: string | Uint8Array): Uint8Array {
  return typeof body === 'string' ? new TextEncoder().encode(body) : body
}

/** base64url(SHA-256(raw body bytes)), as PROTOCOL §2 defines `bsh`. */
export function bodySha256(body: string | Uint8Array): string {
  return createHash('sha256').update(bytesOf(body)).digest('base64url')
}

function merge(base: Record<string, unknown>, extra: Record<string, unknown> | undefined): Record<string, unknown> {
  const out = { ...base, ...extra }
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k]
  return out
}

function headerAndClaims(opts: Omit<AssertionOptions, 'key'> & { alg: string; kid: string }) {
  const iat = Math.floor((opts.now ?? new Date()).getTime() / 1000)
  const claims: Record<string, unknown> = {
    iss: opts.clientId,
    sub: opts.clientId,
    aud: opts.audience,
    iat,
    exp: iat + (opts.ttlSeconds ?? 60),
    jti: opts.jti ?? randomUUID(),
    htm: opts.method,
    htu: opts.pathAndQuery,
  }
  if (opts.body !== undefined && bytesOf(opts.body).byteLength > 0) {
    claims.bsh = opts.alg === 'SM2' ? bodySm3(bytesOf(opts.body)) : bodySha256(opts.body)
  }
  return {
    header: merge({ alg: opts.alg, kid: opts.kid, typ: 'tongban-client+jwt' }, opts.overrides?.header),
    claims: merge(claims, opts.overrides?.claims),
  }
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** A per-request assertion signed with `key` (compact JWS). */
export async function signAssertion(opts: AssertionOptions): Promise<string> {
  const { header, claims } = headerAndClaims({ ...opts, alg: opts.key.alg, kid: opts.key.kid })
  return signJws(opts.key, header, claims)
}

/** A compact JWS of `payload` under `header` with `key` (jose for ES256 and EdDSA, adapters/sim/sm2.ts for SM2). */
export async function signJws(
  key: ClientKey,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): Promise<string> {
  if (key.sm2) {
    const input = `${b64(header)}.${b64(payload)}`
    return `${input}.${sm2SignInput(key.sm2, input)}`
  }
  const signer = new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
  // jose checks the header's alg against the key; a forged alg needs the forge helpers below.
  return signer.setProtectedHeader(header as { alg: string }).sign(key.privateKey)
}

/** An unsigned assertion (`alg: none`, empty signature) for the client and request. */
export async function forgeAlgNone(opts: AssertionOptions): Promise<string> {
  const { header, claims } = headerAndClaims({ ...opts, alg: 'none', kid: opts.key.kid })
  return `${b64(header)}.${b64(claims)}.`
}

/**
 * The key-confusion attack: HS256 with the client's *public* key as the HMAC secret. `secretForm` picks
 * how the attacker spells the public key: its SPKI PEM (the classic) or its JWK JSON.
 */
export async function forgeHs256WithPublicKey(
  opts: AssertionOptions & { secretForm?: 'pem' | 'jwk' },
): Promise<string> {
  const { header, claims } = headerAndClaims({ ...opts, alg: 'HS256', kid: opts.key.kid })
  const secret =
    opts.secretForm === 'jwk'
      ? JSON.stringify(opts.key.publicJwk)
      : createPublicKey({ key: opts.key.publicJwk as JsonWebKey, format: 'jwk' })
          .export({ type: 'spki', format: 'pem' })
          .toString()
  const input = `${b64(header)}.${b64(claims)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}
