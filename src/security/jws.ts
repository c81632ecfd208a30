/**
 * Compact JWS with node:crypto's synchronous ECDSA P-256 (ES256) and Ed25519 (EdDSA), and SM2 with SM3
 * (PROTOCOL §2 (1.1), `alg: "SM2"`, security/sm2.ts). jose goes through WebCrypto, whose per-call job costs
 * about three times the signature itself on this hot path (every receipt, every client assertion), and has
 * no SM2; the encoding is the same RFC 7515 compact form, so jose and any other implementation verify what
 * this signs and sign what this verifies. This is the one place that knows which algorithm a key holds:
 * everyone else passes {@link JwsKey}s around and asks here.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  KeyObject,
  sign,
  verify,
} from 'node:crypto'
import { base64url } from 'jose'
import { Sm2PrivateKey, Sm2PublicKey, sm2Sign, sm2Verify, sm3 } from './sm2.js'

/** Every signature algorithm of PROTOCOL §2: nothing else is signed or accepted. */
export const JWS_ALGS = ['ES256', 'EdDSA', 'SM2'] as const
export type JwsAlg = (typeof JWS_ALGS)[number]

/** Whether `alg` is one of {@link JWS_ALGS} (so `none`, HS256 … are refused before any key is looked up). */
export function isJwsAlg(alg: unknown): alg is JwsAlg {
  return typeof alg === 'string' && (JWS_ALGS as readonly string[]).includes(alg)
}

/** A signing or verification key of any algorithm; only this module looks inside. */
export type JwsKey = KeyObject | Sm2PrivateKey | Sm2PublicKey

const b64 = (data: Buffer | string) => Buffer.from(data).toString('base64url')

/**
 * The body digest that goes with a signature of `alg` (PROTOCOL §2 `bsh`, a receipt's `req`):
 * base64url(SM3(bytes)) for SM2, base64url(SHA-256(bytes)) otherwise.
 */
export function bodyDigest(bytes: Uint8Array | string, alg?: string): string {
  if (alg === 'SM2') return sm3(typeof bytes === 'string' ? Buffer.from(bytes) : bytes).toString('base64url')
  return createHash('sha256').update(bytes).digest('base64url')
}

/** Whether `key` is of the kind `alg` needs (so an EC key can never stand in for an Ed25519 one, or a secret for either). */
export function keyFitsAlg(key: JwsKey, alg: string): boolean {
  if (alg === 'SM2') return key instanceof Sm2PublicKey || key instanceof Sm2PrivateKey
  if (!(key instanceof KeyObject)) return false
  if (alg === 'ES256') return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
  if (alg === 'EdDSA') return key.asymmetricKeyType === 'ed25519'
  return false
}

function coordinate(jwk: Record<string, unknown>, member: string): Buffer {
  const v = jwk[member]
  const bytes = typeof v === 'string' && /^[A-Za-z0-9_-]+$/.test(v) ? Buffer.from(v, 'base64url') : undefined
  if (bytes?.length !== 32) throw new Error(`SM2 JWK: "${member}" must be 32 bytes in base64url`)
  return bytes
}

/**
 * A private or public key from a JWK; throws for a JWK that is not a usable key. An SM2 JWK is
 * `{ kty: "EC", crv: "SM2", x, y }` (+ `d`), its point checked to be on the curve.
 */
export function keyFromJwk(jwk: Record<string, unknown>, kind: 'private' | 'public'): JwsKey {
  if (jwk.kty === 'EC' && jwk.crv === 'SM2') {
    const publicKey = Sm2PublicKey.of(coordinate(jwk, 'x'), coordinate(jwk, 'y'))
    if (kind === 'public') return publicKey
    const privateKey = Sm2PrivateKey.fromScalar(coordinate(jwk, 'd'))
    if (!privateKey.publicKey.equals(publicKey)) throw new Error('SM2 JWK: d does not match x and y')
    return privateKey
  }
  const input = { key: jwk as JsonWebKey, format: 'jwk' as const }
  return kind === 'private' ? createPrivateKey(input) : createPublicKey(input)
}

/** A fresh key pair of `alg` as JWKs (without kid, alg or use). */
export function generateJwkPair(alg: JwsAlg): {
  privateJwk: Record<string, unknown>
  publicJwk: Record<string, unknown>
} {
  if (alg === 'SM2') {
    const key = Sm2PrivateKey.generate()
    const publicJwk = {
      kty: 'EC',
      crv: 'SM2',
      x: key.publicKey.x.toString('base64url'),
      y: key.publicKey.y.toString('base64url'),
    }
    return { privateJwk: { ...publicJwk, d: key.scalar.toString('base64url') }, publicJwk }
  }
  const { privateKey, publicKey } =
    alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519')
  return {
    privateJwk: privateKey.export({ format: 'jwk' }) as Record<string, unknown>,
    publicJwk: publicKey.export({ format: 'jwk' }) as Record<string, unknown>,
  }
}

/** Signs `payload` (serialised as given) with header `{ alg, kid, typ }`. */
export function signCompact(
  payload: Record<string, unknown>,
  header: { alg: JwsAlg; kid: string; typ: string },
  key: JwsKey,
): string {
  if (!keyFitsAlg(key, header.alg)) throw new Error(`the key does not fit ${header.alg}`)
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}`
  const data = Buffer.from(input)
  let signature: Buffer
  if (key instanceof Sm2PrivateKey) signature = sm2Sign(key, data)
  else if (key instanceof Sm2PublicKey) throw new Error('a public key cannot sign')
  else
    signature =
      header.alg === 'ES256' ? sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }) : sign(null, data, key)
  return `${input}.${signature.toString('base64url')}`
}

/** Verifies the signature of a compact JWS made with `alg`; false on any mismatch (never throws for bad input). */
export function verifyCompact(token: string, alg: string, key: JwsKey): boolean {
  if (!keyFitsAlg(key, alg) || key instanceof Sm2PrivateKey) return false
  if (key instanceof KeyObject && key.type !== 'public') return false
  const dot = token.lastIndexOf('.')
  if (dot < 0) return false
  const data = Buffer.from(token.slice(0, dot))
  const signature = Buffer.from(token.slice(dot + 1), 'base64url')
  try {
    if (key instanceof Sm2PublicKey) return sm2Verify(key, data, signature)
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
