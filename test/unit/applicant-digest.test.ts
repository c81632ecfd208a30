/**
 * PROTOCOL 1.1 §5's applicant digest: scrypt(`idType:idNumber`, salt, N = 32768, r = 8, p = 1, 32 bytes),
 * base64url; checked against a fixed vector (the same value Python's hashlib.scrypt gives) and node's scryptSync.
 */
import { createHash, scryptSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  APPLICANT_SCRYPT,
  applicantIdDigest,
  applicantMatches,
  saltedApplicant,
} from '../../src/security/applicant-digest.js'

const number = '11010519491231002X'
const salt = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex')

describe('applicant digest (PROTOCOL 1.1 §5)', () => {
  it('matches a fixed vector and scrypt computed independently', async () => {
    const digest = await applicantIdDigest('resident_id', number, salt)
    expect(digest).toBe('J06VVenzjbpx2CsoyVv_OG-Qt8y2u9zs-HKN4Qu1Sno')
    const direct = scryptSync(`resident_id:${number}`, salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 << 20 })
    expect(digest).toBe(direct.toString('base64url'))
    expect(APPLICANT_SCRYPT).toMatchObject({ N: 32768, r: 8, p: 1, keyBytes: 32, saltBytes: 16 })
  })

  it('salts each result afresh: two digests of one applicant differ, and both match', async () => {
    const a = await saltedApplicant('resident_id', number)
    const b = await saltedApplicant('resident_id', number)
    expect(a.idSalt).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(a.idDigest).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(a.idSalt, 'base64url')).toHaveLength(16)
    expect(a.idSalt).not.toBe(b.idSalt)
    expect(a.idDigest).not.toBe(b.idDigest)
    expect(await applicantMatches(a, 'resident_id', number)).toBe(true)
    expect(await applicantMatches(b, 'resident_id', number)).toBe(true)
    expect(JSON.stringify(a)).not.toContain(number)
  })

  it('tells another number, another id type, another salt and a v1 idHash apart', async () => {
    const a = await saltedApplicant('resident_id', number)
    expect(await applicantMatches(a, 'resident_id', '110105194912310037')).toBe(false)
    expect(await applicantMatches(a, 'passport', number)).toBe(false)
    expect(await applicantMatches({ ...a, idSalt: salt.toString('base64url') }, 'resident_id', number)).toBe(false)
    expect(await applicantMatches({ ...a, idSalt: 'AAAA' }, 'resident_id', number)).toBe(false)
    const idHash = createHash('sha256').update(`resident_id:${number}`).digest('base64url')
    expect(await applicantMatches({ idHash }, 'resident_id', number)).toBe(true)
    expect(await applicantMatches({ idHash }, 'resident_id', '110105194912310037')).toBe(false)
  })

  it('runs off the event loop: a timer fires while a digest is computed', async () => {
    let ticks = 0
    const timer = setInterval(() => {
      ticks += 1
    }, 1)
    try {
      // Several digests at once run on the thread pool; the loop keeps turning meanwhile.
      await Promise.all([1, 2, 3].map(() => saltedApplicant('resident_id', number)))
    } finally {
      clearInterval(timer)
    }
    expect(ticks).toBeGreaterThan(0)
  })
})
