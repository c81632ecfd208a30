import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  isValidECertificateId,
  isValidResidentId,
  isValidUscc,
  maskIdentity,
  mod37_36CheckChar,
  residentIdCheckChar,
  usccCheckChar,
} from '../../src/domain/identity.js'

// Made-up bases (not real people's numbers); check characters computed independently of this code.
describe('resident ID numbers (GB 11643, MOD 11-2)', () => {
  it.each([
    ['42030319900307123', 'X'],
    ['11010519491231002', 'X'], // the example of GB 11643-1999
    ['42030320000229456', '8'],
    ['61090119851121004', '9'],
    ['50022920101010007', '6'],
  ])('the check character of %s is %s', (first17, check) => {
    expect(residentIdCheckChar(first17)).toBe(check)
  })

  it.each([
    ['42030319900307123X', true],
    ['11010519491231002X', true],
    ['420303200002294568', true],
    ['610901198511210049', true],
    ['420303199003071230', false], // wrong check character
    ['42030319900307123x', false], // lower-case x
    ['42030319900307124X', false], // one digit off
    ['420303199902294568', false], // 1999-02-29 does not exist (check character would fit)
    ['420303199013071233', false], // month 13 (check character would fit)
    ['420303170001011234', false], // before 1800 (check character would fit)
    ['42030319900307123', false],
    ['42030319900307123X0', false],
    ['', false],
  ])('%j is valid: %s', (id, valid) => {
    expect(isValidResidentId(id)).toBe(valid)
  })

  it('detects every single-digit substitution', () => {
    const valid = '420303200002294568'
    for (let i = 0; i < 17; i++) {
      const altered = valid.slice(0, i) + String((Number(valid[i]) + 3) % 10) + valid.slice(i + 1)
      expect(isValidResidentId(altered), altered).toBe(false)
    }
  })

  it.each(['4203031990030712', '4203031990030712A'])('refuses to compute a check character for %j', (base) => {
    expect(() => residentIdCheckChar(base)).toThrow(RangeError)
  })
})

describe('unified social credit codes (GB 32100-2015)', () => {
  it.each([
    ['91350100M000100Y4', '3'],
    ['91420300MA4900000', '9'],
    ['12420300MB1234567', '8'],
    ['91420300MA4900017', '0'], // 31 - (sum mod 31) = 31 → 0
  ])('the check character of %s is %s', (first17, check) => {
    expect(usccCheckChar(first17)).toBe(check)
  })

  it.each([
    ['91350100M000100Y43', true],
    ['91420300MA49000009', true],
    ['12420300MB12345678', true],
    ['91420300MA49000170', true],
    ['91350100M000100Y44', false], // wrong check character
    ['91350100M000100Y33', false], // one character off
    ['91350100M0001OOY43', false], // O is not in the alphabet
    ['91350100I000100Y43', false], // nor is I
    ['91350100m000100y43', false], // lower case
    ['91350100M000100Y4', false],
    ['', false],
  ])('%j is valid: %s', (code, valid) => {
    expect(isValidUscc(code)).toBe(valid)
  })

  it('refuses to compute a check character outside the alphabet', () => {
    expect(() => usccCheckChar('91350100M000100Z4')).toThrow(RangeError)
    expect(() => usccCheckChar('9135')).toThrow(RangeError)
  })
})

describe('maskIdentity', () => {
  it.each([
    ['42030319900307123X', '420303********123X'],
    ['91350100M000100Y43', '913501********0Y43'],
    ['ABCDEFGHIJK', 'ABCDEF*HIJK'],
    ['E12345678', '*********'],
    ['1234567890', '**********'],
    ['', ''],
  ])('masks %j as %j', (input, masked) => {
    expect(maskIdentity(input)).toBe(masked)
  })
})

interface Sample {
  identifier: string
  parts: Record<string, string>
  computedCheckChar: string
  checkCharValid: boolean
}

const samples: Sample[] = JSON.parse(
  readFileSync(new URL('../fixtures/ecert-identifier-samples.json', import.meta.url), 'utf8'),
).samples

describe('electronic certificate identifiers (MOD 37,36)', () => {
  it('has the 4 valid and 1 invalid samples', () => {
    expect(samples.map((s) => s.checkCharValid)).toEqual([true, true, true, true, false])
  })

  it.each(samples.map((s) => [s.identifier, s] as const))('checks %s', (_id, sample) => {
    const { certTypeCode, issuerCode, serial, version } = sample.parts
    expect(mod37_36CheckChar(`${certTypeCode}${issuerCode}${serial}${version}`)).toBe(sample.computedCheckChar)
    const result = isValidECertificateId(sample.identifier)
    expect(result.ok, JSON.stringify(result)).toBe(sample.checkCharValid)
    if (result.ok) expect(result.parts).toEqual(sample.parts)
    else expect(result.reason).toMatch(/check character/)
  })

  const valid = '1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F'
  it.each([
    [valid.replace('2430599', '2430598'), /check character does not match/],
    [valid.replace('.F', '.G'), /check character does not match/],
    [valid.replace('1.2.156.3005.2', '1.2.156.3005.3'), /root/],
    [valid.replace('.001.', '.'), /5 parts/],
    [`${valid}.X`, /5 parts/],
    [valid.replace('W032', 'w032'), /type code/],
    [valid.replace('.2430599.', '..'), /serial/],
    [valid.replace('.F', '.FF'), /check character must be/],
  ])('refuses %s', (id, reason) => {
    const result = isValidECertificateId(id)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.reason).toMatch(reason)
  })
})
