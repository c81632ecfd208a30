import { describe, expect, it } from 'vitest'
import { failureFromStatus, isRetryableStatus, safeExcerpt, scrubIdentifiers } from '../../adapters/_shared/errors.js'

const ID = '42030319850715201X'

describe('failureFromStatus', () => {
  it.each([
    [408, true],
    [409, true],
    [425, true],
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [504, true],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [413, false],
    [422, false],
    [301, false],
    [302, false],
    [307, false],
    [200, false],
  ])('%i → retryable %s', (status, retryable) => {
    const e = failureFromStatus(status, 'deliverCase')
    expect(e).toMatchObject({ code: 'upstream_failed', retryable, context: { status } })
    expect(e.message).toContain(String(status))
    expect(isRetryableStatus(status)).toBe(retryable)
  })

  it('names a redirect as not followed', () => {
    expect(failureFromStatus(302, 'deliverCase').message).toMatch(/redirect, not followed/)
  })

  it('takes the code and the detail of a problem body, scrubbed and cut to 200 characters', () => {
    const body = JSON.stringify({
      code: 'invalid_identity_number',
      detail: `the number ${ID} fails ${'x '.repeat(300)}`,
    })
    const e = failureFromStatus(422, 'deliverCase', { body: Buffer.from(body) })
    expect(e.message).not.toContain(ID)
    expect(e.message).toContain('invalid_identity_number')
    expect(e.context).toMatchObject({ status: 422, upstreamCode: 'invalid_identity_number' })
    const excerpt = e.message.split(': ').slice(2).join(': ')
    expect(excerpt.length).toBeLessThanOrEqual(200)
  })

  it('never echoes a long non-JSON body in full', () => {
    const e = failureFromStatus(500, 'health', { body: `<html>${'y'.repeat(5000)}</html>` })
    expect(e.message.length).toBeLessThan(300)
  })

  it('keeps Retry-After as seconds', () => {
    expect(failureFromStatus(429, 'x', { headers: { 'retry-after': '12' } }).context.retryAfterSeconds).toBe(12)
    const at = new Date(Date.now() + 30_000).toUTCString()
    const s = failureFromStatus(503, 'x', { headers: { 'retry-after': at } }).context.retryAfterSeconds as number
    expect(s).toBeGreaterThan(25)
    expect(s).toBeLessThanOrEqual(31)
  })
})

describe('scrubIdentifiers and safeExcerpt', () => {
  it.each([
    [`id ${ID} bad`, 'id [redacted] bad'],
    ['old id 420303850715201 bad', 'old id [redacted] bad'],
    ['uscc 91420300MA4F0XXXX1 bad', 'uscc [redacted] bad'],
    ['phone 13800138000', 'phone [redacted]'],
    ['身份证号42030319850715201X不符', '身份证号[redacted]不符'],
    ['internationalization is long', 'internationalization is long'],
    ['case 0190f5a2-7b1c-7cc4-9a51-3d2f8e6b1a01', 'case 0190f5a2-7b1c-7cc4-9a51-3d2f8e6b1a01'],
  ])('%s → %s', (input, output) => {
    expect(scrubIdentifiers(input)).toBe(output)
  })

  it('cuts to the limit with an ellipsis and joins lines', () => {
    expect(safeExcerpt('a\n b', 200)).toBe('a b')
    const cut = safeExcerpt('z'.repeat(500))
    expect(cut).toHaveLength(200)
    expect(cut.endsWith('…')).toBe(true)
  })
})
