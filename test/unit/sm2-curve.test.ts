/**
 * The SM2 curve arithmetic of src/security/sm2-curve.ts against plain BigInt reference arithmetic and
 * against @noble/curves' generic short-Weierstrass code on the same curve (an independent implementation of
 * the point formulas), with the edge values of the field and the exceptional cases of the addition.
 */
import { randomBytes } from 'node:crypto'
import { Field } from '@noble/curves/abstract/modular'
import { weierstrassN } from '@noble/curves/abstract/weierstrass'
import { describe, expect, it } from 'vitest'
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
  modP,
  N,
  P,
  PointTable,
  signedDigits,
  xModNIs,
} from '../../src/security/sm2-curve.js'

const Ref = weierstrassN({ p: P, n: N, h: 1n, a: CURVE_A, b: CURVE_B, Gx: GX, Gy: GY }, { Fp: Field(P), Fn: Field(N) })
/** Reference reduction: the non-negative remainder, by the definition. */
const refMod = (x: bigint, m: bigint) => x - m * ((x - (((x % m) + m) % m)) / m)
const big = (bytes: number) => BigInt(`0x${randomBytes(bytes).toString('hex')}`)
const scalar = () => (big(40) % (N - 1n)) + 1n
const refPoint = (k: bigint) => Ref.BASE.multiply(k).toAffine()
const affineOf = (j: Jacobian) => j.toAffine()
const jac = (a: { x: bigint; y: bigint }) => new Jacobian(a.x, a.y, 1n)

describe('field reduction', () => {
  it('reduces the edge values mod p: 0, 1, p − 1, p, p + 1, 2²⁵⁶ − 1, negatives', () => {
    expect(modP(0n)).toBe(0n)
    expect(modP(1n)).toBe(1n)
    expect(modP(P - 1n)).toBe(P - 1n)
    expect(modP(P)).toBe(0n)
    expect(modP(P + 1n)).toBe(1n)
    // 2²⁵⁶ − 1 − p = 2²²⁴ + 2⁹⁶ − 2⁶⁴
    expect(modP(2n ** 256n - 1n)).toBe(2n ** 224n + 2n ** 96n - 2n ** 64n)
    expect(modP(-1n)).toBe(P - 1n)
    expect(modP(-P)).toBe(0n)
    expect(modP((P - 1n) * (P - 1n))).toBe(1n)
    expect(modP((2n ** 256n - 1n) ** 2n)).toBe(refMod((2n ** 256n - 1n) ** 2n, P))
  })

  it('reduces random products, sums and signed differences like the reference, mod p and mod n', () => {
    for (let i = 0; i < 500; i++) {
      const a = big(33) - big(33)
      const b = big(32)
      for (const v of [a * b, a + b, a - b, (a % P) * (b % P), -(a * a)]) {
        expect(modP(v)).toBe(refMod(v, P))
        expect(modN(v)).toBe(refMod(v, N))
      }
    }
  })

  it('inverts mod n', () => {
    for (const x of [1n, 2n, N - 1n, N + 5n, -7n, scalar()]) expect(modN(invertModN(x) * x)).toBe(1n)
  })
})

describe('points', () => {
  it('knows the generator and refuses what is not on the curve', () => {
    expect(isOnCurve(GX, GY)).toBe(true)
    expect(isOnCurve(GX, GY ^ 1n)).toBe(false)
    expect(isOnCurve(GX, GY + P)).toBe(false)
    expect(isOnCurve(0n, 0n)).toBe(false)
    expect(isOnCurve(-GX, GY)).toBe(false)
  })

  it('adds and doubles like @noble/curves, with any representatives of the coordinates', () => {
    for (let i = 0; i < 40; i++) {
      const a = refPoint(scalar())
      const b = refPoint(scalar())
      const sum = Ref.fromAffine(a).add(Ref.fromAffine(b)).toAffine()
      const j = jac(a)
      j.addAffine(b.x, b.y)
      expect(affineOf(j)).toEqual(sum)
      // The same sum from a Jacobian point with Z ≠ 1 and coordinates outside [0, p).
      const z = (big(32) % (P - 1n)) + 1n
      const k = new Jacobian(a.x * z * z + 3n * P, a.y * z * z * z - 5n * P, modP(z))
      k.addAffine(b.x - P, b.y + 2n * P)
      expect(affineOf(k)).toEqual(sum)
      const d = jac(a)
      d.double()
      expect(affineOf(d)).toEqual(Ref.fromAffine(a).double().toAffine())
    }
  })

  it('handles the exceptional additions: P + P, P + (−P), ∞ + P, 2·∞', () => {
    const a = refPoint(scalar())
    const same = new Jacobian(a.x * 4n, a.y * 8n, 2n) // (a.x, a.y) with Z = 2
    same.addAffine(a.x, a.y)
    expect(affineOf(same)).toEqual(Ref.fromAffine(a).double().toAffine())
    const opposite = jac(a)
    opposite.addAffine(a.x, -a.y)
    expect(opposite.isInfinity()).toBe(true)
    const fromInfinity = Jacobian.infinity()
    fromInfinity.addAffine(a.x, a.y)
    expect(affineOf(fromInfinity)).toEqual(a)
    const twice = Jacobian.infinity()
    twice.double()
    expect(twice.isInfinity()).toBe(true)
    expect(() => twice.toAffine()).toThrow()
  })

  it('keeps long chains of unreduced additions and doublings right', () => {
    let ref = Ref.ZERO
    const acc = Jacobian.infinity()
    for (let i = 0; i < 300; i++) {
      const q = refPoint(BigInt(i + 2))
      if (i % 3 === 0) {
        acc.double()
        ref = ref.double()
      }
      acc.addAffine(q.x, i % 2 ? q.y : -q.y)
      ref = ref.add(i % 2 ? Ref.fromAffine(q) : Ref.fromAffine(q).negate())
    }
    expect(affineOf(acc)).toEqual(ref.toAffine())
  })
})

describe('scalar multiplication', () => {
  it('splits scalars into signed window digits that add back up', () => {
    for (const w of [5, 8, 10]) {
      const windows = Math.ceil(256 / w) + 1
      for (const k of [0n, 1n, N - 1n, 2n ** 256n - 1n, scalar(), scalar()]) {
        const digits = signedDigits(k, w, windows)
        let sum = 0n
        digits.forEach((d, i) => {
          expect(d > -(2 ** (w - 1)) && d <= 2 ** (w - 1)).toBe(true)
          sum += BigInt(d) << BigInt(w * i)
        })
        expect(sum).toBe(k)
      }
    }
    expect(() => signedDigits(2n ** 256n, 8, 33)).toThrow()
    expect(() => signedDigits(-1n, 8, 33)).toThrow()
  })

  it('multiplies the generator like @noble/curves (constant-shape walk and variable-time walk)', () => {
    const table = generatorTable()
    for (const k of [1n, 2n, 3n, N - 1n, N - 2n, 2n ** 255n, scalar(), scalar(), scalar()]) {
      const want = refPoint(k)
      expect(table.multiply(k)).toEqual(want)
      const acc = Jacobian.infinity()
      table.addMultiple(acc, k)
      expect(affineOf(acc)).toEqual(want)
    }
  })

  it('multiplies any point with a window-8 table and without one, onto an accumulator', () => {
    const q = refPoint(scalar())
    const table = new PointTable(q, 8)
    for (const k of [1n, 2n, N - 1n, scalar(), scalar()]) {
      const s = scalar()
      const want = Ref.BASE.multiply(s).add(Ref.fromAffine(q).multiply(k)).toAffine()
      const withTable = jac(refPoint(s))
      table.addMultiple(withTable, k)
      expect(affineOf(withTable)).toEqual(want)
      const without = jac(refPoint(s))
      addMultipleOnce(without, q, k)
      expect(affineOf(without)).toEqual(want)
    }
    // k·Q = −(accumulator): the sum is infinity.
    const k = scalar()
    const minus = Ref.fromAffine(q).multiply(k).negate().toAffine()
    const cancel = jac(minus)
    table.addMultiple(cancel, k)
    expect(cancel.isInfinity()).toBe(true)
  })

  it('compares x mod n without an inversion, for x below n and for x in [n, p)', () => {
    const a = refPoint(scalar())
    const z = (big(32) % (P - 1n)) + 1n
    const j = new Jacobian(modP(a.x * z * z), modP(a.y * z * z * z), z)
    expect(xModNIs(j, modN(a.x))).toBe(true)
    expect(xModNIs(j, modN(a.x + 1n))).toBe(false)
    expect(xModNIs(Jacobian.infinity(), 0n)).toBe(false)
    // An x in [n, p) (no point of the curve is known to have one: the X/Z² comparison does not need it).
    const x = N + 12345n
    const high = new Jacobian(modP(x * z * z), 1n, z)
    expect(xModNIs(high, 12345n)).toBe(true)
    expect(xModNIs(high, 12346n)).toBe(false)
    const low = new Jacobian(modP(12345n * z * z), 1n, z)
    expect(xModNIs(low, 12345n)).toBe(true)
  })
})
