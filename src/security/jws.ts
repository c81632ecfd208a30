/**
 * Compact JWS with node:crypto's synchronous ECDSA P-256 (ES256) and Ed25519 (EdDSA). jose goes through
 * WebCrypto, whose per-call job costs about three times the signature itself on this hot path (every
 * receipt, every client assertion); the encoding is the same RFC 7515 compact form, so jose and any other
 * implementation verify what this signs and sign what this verifies.
 */
import {
  createPrivateKey,
  createPublicKey,
  type JsonWebKey,
  KeyObject,
  sign,
  verify,
  type webcrypto,
} from 'node:crypto'
import { base64url } from 'jose'

export type JwsAlg = 'ES256' | 'EdDSA'

const b64 = (data: Buffer | string) => Buffer.from(data).toString('base64url')

/** Whether `key` is of the kind `alg` needs (so an EC key can never stand in for an Ed25519 one, or a secret for either). */
export function keyFitsAlg(key: KeyObject, alg: string): boolean {
  if (alg === 'ES256') return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
  if (alg === 'EdDSA') return key.asymmetricKeyType === 'ed25519'
  return false
}

/** A private or public key from a JWK. */
export function keyFromJwk(jwk: Record<string, unknown>, kind: 'private' | 'public'): KeyObject {
  const input = { key: jwk as JsonWebKey, format: 'jwk' as const }
  return kind === 'private' ? createPrivateKey(input) : createPublicKey(input)
}

const converted = new WeakMap<object, KeyObject>()

/** A KeyObject for a key that jose produced (CryptoKey or KeyObject); null for a secret (Uint8Array). */
export function asKeyObject(key: unknown): KeyObject | null {
  if (key instanceof KeyObject) return key
  if (key instanceof Uint8Array || typeof key !== 'object' || key === null) return null
  let k = converted.get(key)
  if (!k) {
    k = KeyObject.from(key as webcrypto.CryptoKey)
    converted.set(key, k)
  }
  return k
}

/** Signs `payload` (serialised as given) with header `{ alg, kid, typ }`. */
export function signCompact(
  payload: Record<string, unknown>,
  header: { alg: JwsAlg; kid: string; typ: string },
  key: KeyObject,
): string {
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}`
  const data = Buffer.from(input)
  const signature =
    header.alg === 'ES256' ? sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }) : sign(null, data, key)
  return `${input}.${signature.toString('base64url')}`
}

/** Verifies the signature of a compact JWS made with `alg`; false on any mismatch (never throws for bad input). */
export function verifyCompact(token: string, alg: string, key: KeyObject): boolean {
  if (!keyFitsAlg(key, alg) || key.type !== 'public') return false
  const dot = token.lastIndexOf('.')
  if (dot < 0) return false
  const data = Buffer.from(token.slice(0, dot))
  const signature = Buffer.from(token.slice(dot + 1), 'base64url')
  try {
    return alg === 'ES256'
      ? signature.length === 64 && verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature)
      : verify(null, data, key, signature)
  } catch {
    return false
  }
}

/**
 * One segment of a compact JWS (header or payload) as a JSON object, or null when it is not base64url of
 * UTF-8 JSON holding an object. No signature is checked: callers decide what to trust.
 *
 * @example decodeSegment(token.split('.')[1]) // { iss: 'gw-420300', … }
 */
export function decodeSegment(segment: string | undefined): Record<string, unknown> | null {
  try {
    const v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(base64url.decode(segment ?? '')))
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null
  } catch {
    return null
  }
}

/** The header and claims of a compact JWS (three segments), unverified; null when it is not one. */
export function decodeCompact(
  jws: string,
): { header: Record<string, unknown>; claims: Record<string, unknown> } | null {
  const parts = jws.split('.')
  if (parts.length !== 3) return null
  const header = decodeSegment(parts[0])
  const claims = decodeSegment(parts[1])
  return header && claims ? { header, claims } : null
}
