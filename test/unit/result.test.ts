import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ResultClaims, resultProblems, trustMeets } from '../../src/domain/result.js'

const samples = JSON.parse(
  readFileSync(new URL('../fixtures/ecert-identifier-samples.json', import.meta.url), 'utf8'),
) as {
  samples: { identifier: string; checkCharValid: boolean }[]
}
const validCert = samples.samples.find((s) => s.checkCharValid)?.identifier as string
const invalidCert = samples.samples.find((s) => !s.checkCharValid)?.identifier as string

const expectation = {
  caseId: 'case-1',
  originRegion: '420303',
  item: 'hukou-certificate',
  processingRegion: '420600',
  applicantMatches: true,
  minTrust: 'B' as const,
}

function claims(overrides: Record<string, unknown> = {}) {
  return ResultClaims.parse({
    iss: 'sim-420600',
    sub: 'case-1',
    aud: '420303',
    iat: 1_790_000_000,
    jti: 'r-1',
    item: 'hukou-certificate',
    region: '420600',
    outcome: 'approved',
    decision: { number: '襄公户证〔2026〕1号', date: '2026-10-09' },
    applicant: { idHash: 'a'.repeat(43) },
    certificates: [{ id: validCert, type: '户籍证明', validFrom: '2026-10-09', validTo: null, sha256: 'b'.repeat(64) }],
    trust: 'B',
    ...overrides,
  })
}

describe('result claims against the case', () => {
  it('accepts a result that matches the case', () => {
    expect(resultProblems(claims(), expectation)).toEqual([])
  })

  it.each([
    ['sub', { sub: 'case-2' }, 'not case case-1'],
    ['aud', { aud: '420302' }, 'not the origin region'],
    ['item', { item: 'hukou-transfer-work' }, 'not hukou-certificate'],
    ['region', { region: '421300' }, 'not the processing region'],
    ['trust below the minimum', { trust: 'C' }, 'below the agreement’s minimum B'],
    [
      'a certificate id with a bad check character',
      {
        certificates: [{ id: invalidCert, type: 'x', validFrom: '2026-10-09', validTo: null, sha256: 'b'.repeat(64) }],
      },
      'certificates[0].id',
    ],
  ])('refuses a wrong %s with its reason', (_name, overrides, reason) => {
    const problems = resultProblems(claims(overrides), expectation)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain(reason)
  })

  it('refuses a result whose applicant is not the case’s (the caller digests it: scrypt is async)', () => {
    expect(resultProblems(claims(), { ...expectation, applicantMatches: false })).toEqual([
      'the applicant hash does not match the case’s applicant',
    ])
  })

  it('takes the applicant as v1.1’s salted digest or v1’s idHash, nothing else', () => {
    const salted = { idSalt: 's'.repeat(22), idDigest: 'd'.repeat(43) }
    expect(claims({ applicant: salted }).applicant).toEqual(salted)
    expect(claims().applicant).toEqual({ idHash: 'a'.repeat(43) })
    for (const applicant of [
      { ...salted, idHash: 'a'.repeat(43) },
      { idSalt: 's'.repeat(22) },
      { idSalt: 's'.repeat(21), idDigest: 'd'.repeat(43) },
      { idSalt: 's'.repeat(22), idDigest: 'd'.repeat(44) },
      { idDigest: 'd'.repeat(43) },
      { idNumber: '11010519491231002X' },
      {},
    ]) {
      expect(ResultClaims.safeParse({ ...claims(), applicant }).success, JSON.stringify(applicant)).toBe(false)
    }
  })

  it('orders trust levels A (highest) to D', () => {
    expect(trustMeets('A', 'B')).toBe(true)
    expect(trustMeets('B', 'B')).toBe(true)
    expect(trustMeets('C', 'B')).toBe(false)
    expect(trustMeets('D', 'A')).toBe(false)
  })

  it('refuses malformed claims', () => {
    expect(() => claims({ outcome: 'maybe' })).toThrow()
    expect(() => claims({ applicant: { idNumber: '42030319900307123X' } })).toThrow()
  })
})
