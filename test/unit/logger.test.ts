import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger, scrubIdentities } from '../../src/logger.js'

function capture() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk))
      cb()
    },
  })
  return { lines, logger: createLogger('info', stream) }
}

describe('logger redaction', () => {
  const residentId = '42030319900307123X'
  const uscc = '91420300MA4F12345Q'

  it('masks identity numbers inside strings', () => {
    expect(scrubIdentities(`applicant ${residentId} and ${uscc}`)).toBe('applicant [redacted-id] and [redacted-id]')
    expect(scrubIdentities('case 0193f0a2 due 2026-10-09')).toBe('case 0193f0a2 due 2026-10-09')
  })

  it('never writes an identity number, a token or an authorization header', () => {
    const { lines, logger } = capture()
    logger.info(
      { detail: `bad id ${residentId}`, token: 'tb_secret', req: { headers: { authorization: 'Bearer x.y.z' } } },
      `msg ${uscc}`,
    )
    logger.info({ applicant: { idNumber: residentId } }, 'nested')
    const out = lines.join('')
    expect(out).not.toContain(residentId)
    expect(out).not.toContain(uscc)
    expect(out).not.toContain('tb_secret')
    expect(out).not.toContain('Bearer x.y.z')
    expect(out).toContain('[redacted')
  })
})
