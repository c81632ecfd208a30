/**
 * The sim's signing key: ES256 (EC P-256, node:crypto) or SM2 (adapters/sim/sm2.ts, PROTOCOL §2 (1.1)),
 * loaded from a private JWK file, or generated (into that file when a path is given, mode 0600), published as
 * a JWKS, and used for compact JWS.
 */
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { newSm2Key, type Sm2Key, sm2D, sm2Jwk, sm2KeyOf, sm2ScalarOf, sm2SignInput } from './sm2.js'

export type SimAlg = 'ES256' | 'SM2'

export interface PublicJwk {
  kty: 'EC'
  crv: 'P-256' | 'SM2'
  x: string
  y: string
  kid: string
  alg: SimAlg
  use: 'sig'
}

export interface SimKey {
  kid: string
  alg: SimAlg
  /** ES256: node's key; SM2: the scalar and point. */
  privateKey: KeyObject | Sm2Key
  publicJwk: PublicJwk
  jwks: { keys: [PublicJwk] }
}

const b64 = (data: Buffer | string) => Buffer.from(data).toString('base64url')

/** RFC 7638 thumbprint of an EC public key: SHA-256 over its required members in lexicographic order. */
function thumbprint(jwk: { crv: string; x: string; y: string }): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y })
  return createHash('sha256').update(canonical).digest('base64url')
}

function fromPrivateJwk(jwk: Record<string, unknown>, source: string): SimKey {
  const { kty, crv, x, y, d } = jwk
  if (kty === 'EC' && crv === 'SM2' && typeof d === 'string') {
    let privateKey: Sm2Key
    try {
      privateKey = sm2KeyOf(sm2ScalarOf(d))
    } catch (e) {
      throw new Error(`${source}: unusable key (${(e as Error).message})`)
    }
    const pub = sm2Jwk(privateKey)
    const kid = typeof jwk.kid === 'string' && jwk.kid !== '' ? jwk.kid : thumbprint(pub)
    const publicJwk: PublicJwk = { ...pub, kid, alg: 'SM2', use: 'sig' }
    return { kid, alg: 'SM2', privateKey, publicJwk, jwks: { keys: [publicJwk] } }
  }
  if (kty !== 'EC' || crv !== 'P-256' || typeof x !== 'string' || typeof y !== 'string' || typeof d !== 'string') {
    throw new Error(`${source}: not a private EC P-256 or SM2 JWK (kty EC, crv P-256 or SM2, x, y, d)`)
  }
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey({ key: { kty, crv, x, y, d }, format: 'jwk' })
  } catch (e) {
    throw new Error(`${source}: unusable key (${(e as Error).message})`)
  }
  // Derive the public part from the private key rather than trusting x and y as written.
  const pub = privateKey.export({ format: 'jwk' }) as { x: string; y: string }
  const kid = typeof jwk.kid === 'string' && jwk.kid !== '' ? jwk.kid : thumbprint({ crv: 'P-256', x: pub.x, y: pub.y })
  const publicJwk: PublicJwk = { kty: 'EC', crv: 'P-256', x: pub.x, y: pub.y, kid, alg: 'ES256', use: 'sig' }
  return { kid, alg: 'ES256', privateKey, publicJwk, jwks: { keys: [publicJwk] } }
}

/** A fresh key of `alg` (default ES256); its kid is its thumbprint. Returns the private JWK too, for saving. */
export function generateSimKey(alg: SimAlg = 'ES256'): { key: SimKey; privateJwk: Record<string, unknown> } {
  if (alg === 'SM2') {
    const sm2 = newSm2Key()
    const pub = sm2Jwk(sm2)
    const privateJwk = { ...pub, d: sm2D(sm2), kid: thumbprint(pub), alg: 'SM2', use: 'sig' }
    return { key: fromPrivateJwk(privateJwk, 'generated key'), privateJwk }
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = privateKey.export({ format: 'jwk' }) as { crv: string; x: string; y: string; d: string }
  const privateJwk = { ...jwk, kty: 'EC', kid: thumbprint(jwk), alg: 'ES256', use: 'sig' }
  return { key: fromPrivateJwk(privateJwk, 'generated key'), privateJwk }
}

/**
 * The key in `keyFile` (its algorithm is the file's), created there with `alg` (directories too, file mode
 * 0600) when the file does not exist; without a path, a key of `alg` that lives as long as the process. Synchronous: it runs once at start-up.
 *
 * @example
 * const key = loadOrCreateSimKey('./data/sim-key.json')
 * console.log(JSON.stringify(key.jwks)) // register with: tongban clients add --jwks FILE
 */
export function loadOrCreateSimKey(keyFile?: string, alg: SimAlg = 'ES256'): SimKey {
  if (!keyFile) return generateSimKey(alg).key
  if (!existsSync(keyFile)) {
    const { key, privateJwk } = generateSimKey(alg)
    mkdirSync(dirname(keyFile), { recursive: true })
    // `wx`: never overwrite a key another process wrote in the meantime.
    writeFileSync(keyFile, `${JSON.stringify(privateJwk, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
    return key
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(keyFile, 'utf8'))
  } catch (e) {
    throw new Error(`${keyFile}: not a JSON file (${(e as Error).message})`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${keyFile}: expected a private JWK object`)
  }
  return fromPrivateJwk(parsed as Record<string, unknown>, keyFile)
}

/** A compact JWS with header `{ alg, kid, typ }` over the JSON of `payload`. */
export function signJws(key: SimKey, typ: string, payload: Record<string, unknown>): string {
  const input = `${b64(JSON.stringify({ alg: key.alg, kid: key.kid, typ }))}.${b64(JSON.stringify(payload))}`
  const k = key.privateKey
  if ('d' in k) return `${input}.${sm2SignInput(k, input)}`
  const signature = sign('sha256', Buffer.from(input), { key: k, dsaEncoding: 'ieee-p1363' })
  return `${input}.${b64(signature)}`
}

/** The `bsh` of an assertion signed with `key` (PROTOCOL §2): base64url SM3 for SM2, SHA-256 otherwise. */
export function bodyHashFor(key: SimKey, body: Uint8Array): string {
  return createHash(key.alg === 'SM2' ? 'sm3' : 'sha256')
    .update(body)
    .digest('base64url')
}
