/**
 * The arithmetic of the SM2 recommended curve (GM/T 0003.5: y² = x³ − 3x + b over p = 2²⁵⁶ − 2²²⁴ − 2⁹⁶ +
 * 2⁶⁴ − 1), written for this one curve, for security/sm2.ts. A profile of SM2 on @noble/curves' generic
 * curve code put more than half of every signature and verification in the field reduction (`mod`, one
 * BigInt division per addition, subtraction and multiplication, about 40 per point addition) and a tenth
 * in inversions. Here:
 * - field elements in the loops are any BigInt congruent to the value: only products are reduced (`% P`,
 *   which leaves them in (−p, p)), sums and differences are not, and a value is brought into [0, p) only
 *   where it leaves the loops ({@link modP});
 * - points are Jacobian (x = X/Z², y = Y/Z³) in a mutable accumulator, and every table point is affine, so
 *   an addition is the mixed addition of Hankerson, Menezes and Vanstone (8 multiplications, 3 squarings)
 *   and a doubling uses a = −3 (3 multiplications, 5 squarings);
 * - a table holds every window of a point (2^(W−1) multiples per window of W bits), so that a scalar
 *   multiplication by it is about 256/W additions and no doubling;
 * - verification compares x(s·G + t·P) with r − e mod n as X ≡ x·Z² (mod p), so it needs no inversion.
 * The curve and its generator are checked against @noble/curves in test/unit/sm2-curve.test.ts.
 */
import { invert } from '@noble/curves/abstract/modular'

/** The field prime p. */
export const P = 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn
/** The group order n. */
export const N = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n
export const CURVE_A = P - 3n
export const CURVE_B = 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n
export const GX = 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n
export const GY = 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n

/** `x` mod p in [0, p), for any BigInt (negative too). */
export function modP(x: bigint): bigint {
  const r = x % P
  return r < 0n ? r + P : r
}

/** `x` mod n in [0, n), for any BigInt. */
export function modN(x: bigint): bigint {
  const r = x % N
  return r < 0n ? r + N : r
}

/** x⁻¹ mod n (x not a multiple of n). */
export function invertModN(x: bigint): bigint {
  return invert(modN(x), N)
}

/** Whether (x, y), both in [0, p), satisfies y² = x³ − 3x + b (so it is a finite point of the curve). */
export function isOnCurve(x: bigint, y: bigint): boolean {
  if (x < 0n || x >= P || y < 0n || y >= P) return false
  return (y * y - ((((x * x) % P) * x) % P) + 3n * x - CURVE_B) % P === 0n
}

/** An affine point with coordinates in [0, p). */
export interface Affine {
  x: bigint
  y: bigint
}

/**
 * A point in Jacobian coordinates, changed in place. Z is always reduced (in (−p, p)), so Z === 0n exactly
 * for the point at infinity; X and Y are any representatives.
 */
export class Jacobian {
  X: bigint
  Y: bigint
  Z: bigint

  constructor(X: bigint, Y: bigint, Z: bigint) {
    this.X = X
    this.Y = Y
    this.Z = Z
  }

  static infinity(): Jacobian {
    return new Jacobian(1n, 1n, 0n)
  }

  isInfinity(): boolean {
    return this.Z === 0n
  }

  /** this ← this + (x2, y2), for an affine point (x2, y2) of the curve (any representatives). */
  addAffine(x2: bigint, y2: bigint): void {
    const { X, Y, Z } = this
    if (Z === 0n) {
      this.X = x2
      this.Y = y2
      this.Z = 1n
      return
    }
    const zz = (Z * Z) % P
    const h = ((x2 * zz) % P) - X
    const r = ((y2 * ((zz * Z) % P)) % P) - Y
    const z3 = (Z * h) % P
    if (z3 === 0n) {
      // The same x: the same point (double it) or its negation (the sum is infinity).
      if (r % P === 0n) {
        this.X = x2
        this.Y = y2
        this.Z = 1n
        this.double()
      } else this.Z = 0n
      return
    }
    const hh = (h * h) % P
    const hhh = (hh * h) % P
    const v = (X * hh) % P
    const x3 = ((r * r) % P) - hhh - 2n * v
    this.X = x3
    this.Y = ((r * (v - x3)) % P) - ((Y * hhh) % P)
    this.Z = z3
  }

  /** this ← 2·this (a = −3). */
  double(): void {
    const { X, Y, Z } = this
    const delta = (Z * Z) % P
    const gamma = (Y * Y) % P
    const beta = (X * gamma) % P
    const alpha = 3n * (((X - delta) * (X + delta)) % P)
    const x3 = ((alpha * alpha) % P) - 8n * beta
    this.Z = (2n * Y * Z) % P
    this.X = x3
    this.Y = ((alpha * (4n * beta - x3)) % P) - 8n * ((gamma * gamma) % P)
  }

  /** The affine point (one inversion); throws for infinity. */
  toAffine(): Affine {
    if (this.Z === 0n) throw new Error('SM2: the point at infinity has no affine coordinates')
    const zi = invert(modP(this.Z), P)
    const zi2 = (zi * zi) % P
    return { x: modP(this.X * zi2), y: modP(((this.Y * zi2) % P) * zi) }
  }
}

/** The affine points of `points` (none infinity) with one inversion for all (Montgomery's trick). */
function normalizeAll(points: Jacobian[]): { xs: bigint[]; ys: bigint[] } {
  const prefix: bigint[] = new Array(points.length)
  let acc = 1n
  for (let i = 0; i < points.length; i++) {
    prefix[i] = acc
    acc = (acc * (points[i] as Jacobian).Z) % P
  }
  let inv = invert(modP(acc), P)
  const xs: bigint[] = new Array(points.length)
  const ys: bigint[] = new Array(points.length)
  for (let i = points.length - 1; i >= 0; i--) {
    const pt = points[i] as Jacobian
    const zi = (inv * (prefix[i] as bigint)) % P
    inv = (inv * pt.Z) % P
    const zi2 = (zi * zi) % P
    xs[i] = modP(pt.X * zi2)
    ys[i] = modP(((pt.Y * zi2) % P) * zi)
  }
  return { xs, ys }
}

/**
 * Every window of a point: for window i (bits W·i … W·i + W − 1 of a scalar) and j = 1 … 2^(W−1), the
 * affine point j·2^(W·i)·Q at index i·2^(W−1) + j − 1. Window 8 holds 4 224 points (about 0.5 MB), window 10
 * 13 824. Signed digits (below) need the multiples up to 2^(W−1) only, and one window more for the carry.
 */
export class PointTable {
  readonly w: number
  readonly windows: number
  readonly half: number
  readonly xs: bigint[]
  readonly ys: bigint[]

  constructor(q: Affine, w: number) {
    this.w = w
    this.windows = Math.ceil(256 / w) + 1
    this.half = 1 << (w - 1)
    const all: Jacobian[] = []
    let base = q
    for (let i = 0; i < this.windows; i++) {
      const acc = new Jacobian(base.x, base.y, 1n)
      all.push(new Jacobian(acc.X, acc.Y, acc.Z))
      for (let j = 2; j <= this.half; j++) {
        acc.addAffine(base.x, base.y)
        all.push(new Jacobian(acc.X, acc.Y, acc.Z))
      }
      if (i + 1 < this.windows) {
        acc.double()
        base = acc.toAffine()
      }
    }
    const { xs, ys } = normalizeAll(all)
    this.xs = xs
    this.ys = ys
  }

  /** acc ← acc + k·Q for 0 ≤ k < 2²⁵⁶, in variable time (the scalars of a verification are public). */
  addMultiple(acc: Jacobian, k: bigint): void {
    const digits = signedDigits(k, this.w, this.windows)
    const { xs, ys, half } = this
    for (let i = 0; i < digits.length; i++) {
      const d = digits[i] as number
      if (d === 0) continue
      const o = i * half + (d < 0 ? -d : d) - 1
      const y = ys[o] as bigint
      acc.addAffine(xs[o] as bigint, d < 0 ? -y : y)
    }
  }

  /**
   * k·Q for 0 < k < n as noble's `multiply` does it: one addition per window whether or not its digit is
   * zero (a zero digit adds a table point to a second accumulator that is then dropped), so that the work
   * does not depend on how many digits are zero. BigInt arithmetic is not constant-time; this is as far as
   * JavaScript allows, like @noble/curves.
   */
  multiply(k: bigint): Affine {
    const digits = signedDigits(k, this.w, this.windows)
    const { xs, ys, half } = this
    // Both accumulators start at a point Q0 of the table, not at infinity, so that no addition takes the
    // infinity branch; Q0 is subtracted at the end.
    const last = xs.length - 1
    const q0x = xs[last] as bigint
    const q0y = ys[last] as bigint
    const acc = new Jacobian(q0x, q0y, 1n)
    const fake = new Jacobian(q0x, q0y, 1n)
    for (let i = 0; i < digits.length; i++) {
      const d = digits[i] as number
      if (d === 0) {
        const o = i * half
        fake.addAffine(xs[o] as bigint, i % 2 === 0 ? (ys[o] as bigint) : -(ys[o] as bigint))
      } else {
        const o = i * half + (d < 0 ? -d : d) - 1
        const y = ys[o] as bigint
        acc.addAffine(xs[o] as bigint, d < 0 ? -y : y)
      }
    }
    acc.addAffine(q0x, -q0y)
    return acc.toAffine()
  }
}

/**
 * The signed digits of k (0 ≤ k < 2²⁵⁶) in windows of w bits, least significant first: k = Σ dᵢ·2^(w·i)
 * with −2^(w−1) < dᵢ ≤ 2^(w−1).
 */
export function signedDigits(k: bigint, w: number, windows: number): Int32Array {
  const hex = k.toString(16)
  if (hex.length > 64 || k < 0n) throw new Error('SM2: scalar out of range')
  const bytes = Buffer.from(hex.padStart(64, '0'), 'hex')
  const out = new Int32Array(windows)
  const full = 1 << w
  const half = full >> 1
  let carry = 0
  for (let i = 0; i < windows; i++) {
    let v = 0
    for (let b = 0; b < w; b++) {
      const pos = i * w + b
      if (pos >= 256) break
      v |= (((bytes[31 - (pos >> 3)] as number) >> (pos & 7)) & 1) << b
    }
    v += carry
    if (v > half) {
      v -= full
      carry = 1
    } else carry = 0
    out[i] = v
  }
  if (carry !== 0) throw new Error('SM2: scalar out of range')
  return out
}

/**
 * acc ← acc + k·Q for a point without a table: width-5 wNAF, 256 doublings and about 43 additions. Used for a
 * key's first verification, when building its table would cost more than the verification.
 */
export function addMultipleOnce(acc: Jacobian, q: Affine, k: bigint): void {
  // Odd multiples Q, 3Q, …, 15Q, affine.
  const two = new Jacobian(q.x, q.y, 1n)
  two.double()
  const q2 = two.toAffine()
  const odd: Jacobian[] = [new Jacobian(q.x, q.y, 1n)]
  for (let i = 1; i < 8; i++) {
    const prev = odd[i - 1] as Jacobian
    const next = new Jacobian(prev.X, prev.Y, prev.Z)
    next.addAffine(q2.x, q2.y)
    odd.push(next)
  }
  const { xs, ys } = normalizeAll(odd)
  const naf: number[] = []
  let rest = k
  while (rest > 0n) {
    if (rest & 1n) {
      let d = Number(rest & 31n)
      if (d > 16) d -= 32
      rest -= BigInt(d)
      naf.push(d)
    } else naf.push(0)
    rest >>= 1n
  }
  const sum = Jacobian.infinity()
  for (let i = naf.length - 1; i >= 0; i--) {
    sum.double()
    const d = naf[i] as number
    if (d === 0) continue
    const o = ((d < 0 ? -d : d) - 1) >> 1
    const y = ys[o] as bigint
    sum.addAffine(xs[o] as bigint, d < 0 ? -y : y)
  }
  if (sum.isInfinity()) return
  const s = sum.toAffine()
  acc.addAffine(s.x, s.y)
}

/**
 * Whether acc's affine x, reduced mod n, is `c` (0 ≤ c < n): x ≡ c (mod n) with 0 ≤ x < p < 2n means x = c
 * or x = c + n, and x = X/Z² is compared as X ≡ x·Z² (mod p), without an inversion. False for infinity.
 */
export function xModNIs(acc: Jacobian, c: bigint): boolean {
  if (acc.Z === 0n) return false
  const zz = (acc.Z * acc.Z) % P
  if ((c * zz - acc.X) % P === 0n) return true
  return c + N < P && ((c + N) * zz - acc.X) % P === 0n
}

let baseTable: PointTable | undefined
/**
 * The generator's table (window 10: 13 824 points, about 1.5 MB, a few hundred milliseconds to build), built
 * once per process on first use: loading an SM2 private key uses it, so a gateway with an SM2 key builds it
 * as it starts rather than on its first request.
 */
export function generatorTable(): PointTable {
  baseTable ??= new PointTable({ x: GX, y: GY }, 10)
  return baseTable
}
