/**
 * SM2 digital signatures (GB/T 32918.2, GM/T 0003.2) on the recommended curve of GM/T 0003.5, with SM3
 * (GB/T 32905, node:crypto's `sm3`) as the hash and a distinguishing identifier in Z. Node's own SM2 keys sign
 * plain ECDSA on the SM2 curve (no Z, no SM2 equations), so the scheme is written here, on curve arithmetic
 * specialised to the SM2 curve (security/sm2-curve.ts, checked against @noble/curves in the tests);
 * docs/protocol.md says why. Only jws.ts uses this module: callers hold opaque JWS keys and never learn the
 * algorithm.
 *
 * Speed: the generator's table (window 10) is built once per process, when the first SM2 private key is
 * loaded or the first SM2 signature is checked; a public key's table (window 8) from its second
 * verification on, kept with the key (client keys are few and reused: the last 64 are kept), and each key
 * remembers its Z for the default identifier. No verification is cached.
 */
import { createHash, randomBytes } from 'node:crypto'
import {
  addMultipleOnce,
  CURVE_A,
  CURVE_B,
  GX,
  GY,
  generatorTable,
  invertModN,
  isOnCurve,
  Jacobian,
  modN,
  N,
  PointTable,
  xModNIs,
} from './sm2-curve.js'

/** GM/T 0009's default distinguishing identifier, the one PROTOCOL §2 fixes for `alg: "SM2"`. */
export const SM2_DEFAULT_ID = '1234567812345678'

const be32 = (v: bigint) => Buffer.from(v.toString(16).padStart(64, '0'), 'hex')
const toBig = (b: Uint8Array) => (b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`))
const CURVE_BYTES = Buffer.concat([be32(CURVE_A), be32(CURVE_B), be32(GX), be32(GY)])

/** SM3 of the concatenated parts (node:crypto's OpenSSL SM3). */
export function sm3(...parts: Uint8Array[]): Buffer {
  const h = createHash('sm3')
  for (const p of parts) h.update(p)
  return h.digest()
}

/** An SM2 public key: a point of the curve (checked), with its cached Z for the default identifier. */
export class Sm2PublicKey {
  readonly point: { x: bigint; y: bigint }
  readonly x: Buffer
  readonly y: Buffer
  #defaultZ: Buffer | undefined

  private constructor(x: bigint, y: bigint) {
    this.point = { x, y }
    this.x = be32(x)
    this.y = be32(y)
  }

  /** From the 32-byte big-endian coordinates; throws when they are not a point of the curve (or infinity). */
  static fromCoordinates(x: Uint8Array, y: Uint8Array): Sm2PublicKey {
    if (x.length !== 32 || y.length !== 32) throw new Error('SM2 coordinates must be 32 bytes')
    const px = toBig(x)
    const py = toBig(y)
    if (!isOnCurve(px, py)) throw new Error('SM2: not a point of the curve')
    return new Sm2PublicKey(px, py)
  }

  /** Whether `other` is the same point. */
  equals(other: Sm2PublicKey): boolean {
    return this.point.x === other.point.x && this.point.y === other.point.y
  }

  /** Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) (GB/T 32918.2 §5.5). */
  z(id: string = SM2_DEFAULT_ID): Buffer {
    if (id === SM2_DEFAULT_ID && this.#defaultZ) return this.#defaultZ
    const idBytes = Buffer.from(id, 'utf8')
    if (idBytes.length >= 8192) throw new Error('SM2 identifier too long')
    const entl = Buffer.alloc(2)
    entl.writeUInt16BE(idBytes.length * 8)
    const z = sm3(entl, idBytes, CURVE_BYTES, this.x, this.y)
    if (id === SM2_DEFAULT_ID) this.#defaultZ = z
    return z
  }

  /**
   * The key for these coordinates, from a small per-process cache, so a client's key keeps its table and Z
   * across re-imports of its JWKS (a table costs tens of milliseconds to build and about half a megabyte).
   */
  static of(x: Uint8Array, y: Uint8Array): Sm2PublicKey {
    const id = `${Buffer.from(x).toString('hex')}.${Buffer.from(y).toString('hex')}`
    const hit = KNOWN.get(id)
    if (hit) {
      KNOWN.delete(id)
      KNOWN.set(id, hit)
      return hit
    }
    const key = Sm2PublicKey.fromCoordinates(x, y)
    KNOWN.set(id, key)
    if (KNOWN.size > KNOWN_MAX) KNOWN.delete(KNOWN.keys().next().value as string)
    return key
  }

  /**
   * acc ← acc + k·(this point), with the key's window-8 table from its second use on (4 224 points, about
   * 0.5 MB, some 35 ms of CPU to build; a verification with it costs about a fifth of one without).
   */
  addMultipleTo(acc: Jacobian, k: bigint): void {
    if (!this.#table && ++this.#uses >= 2) this.#table = new PointTable(this.point, 8)
    if (this.#table) this.#table.addMultiple(acc, k)
    else addMultipleOnce(acc, this.point, k)
  }
  #uses = 0
  #table: PointTable | undefined
}

/** Public keys whose tables are kept (least recently used dropped first). */
const KNOWN_MAX = 64
const KNOWN = new Map<string, Sm2PublicKey>()

/** An SM2 private key, with its public key and (1 + d)⁻¹ mod n computed once. */
export class Sm2PrivateKey {
  readonly d: bigint
  readonly publicKey: Sm2PublicKey
  readonly #inverse: bigint

  private constructor(d: bigint, publicKey: Sm2PublicKey) {
    this.d = d
    this.publicKey = publicKey
    this.#inverse = invertModN(d + 1n)
  }

  /** From the 32-byte big-endian scalar d, 1 ≤ d ≤ n − 2 (GB/T 32918.1 §6.1). */
  static fromScalar(dBytes: Uint8Array): Sm2PrivateKey {
    if (dBytes.length !== 32) throw new Error('SM2 private key must be 32 bytes')
    const d = toBig(dBytes)
    if (d < 1n || d > N - 2n) throw new Error('SM2 private key out of range')
    const p = generatorTable().multiply(d)
    return new Sm2PrivateKey(d, Sm2PublicKey.fromCoordinates(be32(p.x), be32(p.y)))
  }

  /** A fresh random key. */
  static generate(): Sm2PrivateKey {
    for (;;) {
      const d = (toBig(randomBytes(40)) % (N - 2n)) + 1n
      try {
        return Sm2PrivateKey.fromScalar(be32(d))
      } catch {
        // out of range: draw again (never happens with the reduction above)
      }
    }
  }

  get scalar(): Buffer {
    return be32(this.d)
  }

  /** (1 + d)⁻¹ mod n, for signing. */
  get inverseOfOnePlusD(): bigint {
    return this.#inverse
  }
}

function randomK(): bigint {
  return (toBig(randomBytes(40)) % (N - 1n)) + 1n
}

/**
 * The SM2 signature of `message` as r ‖ s (64 bytes, big-endian), with `id` in Z. `k` is for published
 * test vectors only: a signature must never reuse a k.
 */
export function sm2Sign(key: Sm2PrivateKey, message: Uint8Array, id = SM2_DEFAULT_ID, fixedK?: bigint): Buffer {
  const e = toBig(sm3(key.publicKey.z(id), message))
  for (;;) {
    const k = fixedK ?? randomK()
    const x1 = generatorTable().multiply(k).x
    const r = modN(e + x1)
    if (r === 0n || r + k === N) {
      if (fixedK !== undefined) throw new Error('SM2: this k gives no signature')
      continue
    }
    const s = modN(key.inverseOfOnePlusD * (k - r * key.d))
    if (s === 0n) {
      if (fixedK !== undefined) throw new Error('SM2: this k gives no signature')
      continue
    }
    return Buffer.concat([be32(r), be32(s)])
  }
}

/** Whether `signature` (r ‖ s, 64 bytes) is the SM2 signature of `message` by `key` with `id` in Z. */
export function sm2Verify(key: Sm2PublicKey, message: Uint8Array, signature: Uint8Array, id = SM2_DEFAULT_ID): boolean {
  if (signature.length !== 64) return false
  const r = toBig(signature.subarray(0, 32))
  const s = toBig(signature.subarray(32))
  if (r < 1n || r >= N || s < 1n || s >= N) return false
  const t = modN(r + s)
  if (t === 0n) return false
  const e = toBig(sm3(key.z(id), message))
  // (x1, y1) = s·G + t·P; both scalars are public, so the variable-time walk over the tables is safe here.
  const sum = Jacobian.infinity()
  generatorTable().addMultiple(sum, s)
  key.addMultipleTo(sum, t)
  // r = (e + x1) mod n, i.e. x1 ≡ r − e (mod n).
  return xModNIs(sum, modN(r - e))
}
