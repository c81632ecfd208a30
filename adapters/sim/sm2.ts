/**
 * SM2 signing as a city's system would write it from docs/protocol.md alone (PROTOCOL §2 (1.1)): the curve
 * of GM/T 0003.5, Z with the identifier 1234567812345678, e = SM3(Z ‖ M), r ‖ s. The simulated city system
 * (`tongban sim --alg SM2`) and the tests' protocol client sign with it. Written apart from the gateway's
 * src/security/sm2.ts on purpose, so that each checks the other; it imports nothing from src/.
 */
import { createHash, randomBytes } from 'node:crypto'
import { Field, mod } from '@noble/curves/abstract/modular'
import { weierstrassN } from '@noble/curves/abstract/weierstrass'

const p = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF')
const n = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123')
const a = p - 3n
const b = BigInt('0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93')
const Gx = BigInt('0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7')
const Gy = BigInt('0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0')
const Point = weierstrassN({ p, n, h: 1n, a, b, Gx, Gy }, { Fp: Field(p), Fn: Field(n) })

const bytes32 = (v: bigint) => Buffer.from(v.toString(16).padStart(64, '0'), 'hex')
const int = (buf: Uint8Array) => BigInt(`0x${Buffer.from(buf).toString('hex')}`)
const sm3 = (...parts: Uint8Array[]) => parts.reduce((h, part) => h.update(part), createHash('sm3')).digest()

export interface Sm2Key {
  d: bigint
  x: Buffer
  y: Buffer
}

export function newSm2Key(): Sm2Key {
  return sm2KeyOf(mod(int(randomBytes(40)), n - 2n) + 1n)
}

/** The key of the private scalar `d` (1 ≤ d ≤ n − 2), its public point derived from it. */
export function sm2KeyOf(d: bigint): Sm2Key {
  if (d < 1n || d > n - 2n) throw new Error('SM2 private key out of range')
  const P = Point.BASE.multiply(d)
  return { d, x: bytes32(P.x), y: bytes32(P.y) }
}

/** The scalar of a private JWK's `d` (base64url, 32 bytes). */
export function sm2ScalarOf(d: string): bigint {
  const raw = Buffer.from(d, 'base64url')
  if (raw.length !== 32) throw new Error('SM2 private key must be 32 bytes')
  return int(raw)
}

/** The private scalar as JWK `d`. */
export function sm2D(key: Sm2Key): string {
  return bytes32(key.d).toString('base64url')
}

/** The public JWK: `{ kty: "EC", crv: "SM2", x, y }`, 32-byte base64url coordinates. */
export function sm2Jwk(key: Sm2Key): { kty: 'EC'; crv: 'SM2'; x: string; y: string } {
  return { kty: 'EC', crv: 'SM2', x: key.x.toString('base64url'), y: key.y.toString('base64url') }
}

/** The JWS signature of `input` (the ASCII signing input): base64url(r ‖ s). */
export function sm2SignInput(key: Sm2Key, input: string): string {
  const id = Buffer.from('1234567812345678')
  const z = sm3(Buffer.from([0, id.length * 8]), id, ...[a, b, Gx, Gy].map(bytes32), key.x, key.y)
  const e = int(sm3(z, Buffer.from(input, 'ascii')))
  for (;;) {
    const k = mod(int(randomBytes(40)), n - 1n) + 1n
    const r = mod(e + Point.BASE.multiply(k).x, n)
    if (r === 0n || r + k === n) continue
    const s = mod(Field(n).inv(1n + key.d) * (k - r * key.d), n)
    if (s !== 0n) return Buffer.concat([bytes32(r), bytes32(s)]).toString('base64url')
  }
}

/** base64url(SM3(bytes)): `bsh` for an SM2 assertion. */
export function bodySm3(body: Uint8Array): string {
  return sm3(body).toString('base64url')
}
