import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger, scrubIdentities } from '../../src/logger.js'
import { card, leakForms, oldId, residentId as personId, phone, typedForms } from '../helpers/personal-data.js'

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

describe('personal numbers in log lines', () => {
  const residentId = personId
  it('masks identity, phone and card numbers in every form, and leaves other digits', () => {
    for (const f of typedForms) expect(scrubIdentities(`x ${f} y`), f).toMatch(/^x \[redacted-(id|phone|card)\] y$/)
    expect(scrubIdentities(`phone:${phone},`)).toBe('phone:[redacted-phone],')
    expect(scrubIdentities(`card ${card}; not a card ${card.slice(0, -1)}7`)).toBe(
      `card [redacted-card]; not a card ${card.slice(0, -1)}7`,
    )
    expect(scrubIdentities('seq 1234567890123 at 2026-12-06T16:33:39.123Z')).toBe(
      'seq 1234567890123 at 2026-12-06T16:33:39.123Z',
    )
  })

  it('scrubs errors: message, stack, own fields, nested causes and AggregateError members', () => {
    const { lines, logger } = capture()
    const inner = new Error(`inner ${phone}`)
    const agg = new AggregateError([new Error(`member ${card}`)], `agg ${oldId}`)
    const outer = new Error(`outer ${residentId}`, { cause: new Error(`middle +86 139 7777 0007`, { cause: inner }) })
    Object.assign(outer, { applicant: { phone }, note: `see ${residentId}` })
    logger.error({ err: outer }, 'failed')
    logger.error(agg)
    logger.error({ nested: { deeper: [outer] } }, `msg %s`, `arg ${phone}`)
    const out = lines.join('')
    for (const f of leakForms) expect(out, f).not.toContain(f)
    const first = JSON.parse(lines[0]!)
    expect(first.err.type).toBe('Error')
    expect(first.err.message).toBe('outer [redacted-id]')
    expect(first.err.stack).toMatch(/^Error: outer \[redacted-id\]\n {4}at /)
    expect(first.err.cause.cause.message).toBe('inner [redacted-phone]')
    const second = JSON.parse(lines[1]!)
    expect(second.msg).toBe('agg [redacted-id]')
    expect(second.err.errors[0].message).toBe('member [redacted-card]')
  })

  it('logs a database error without its parameters, keeping code, severity and routine', () => {
    const { lines, logger } = capture()
    const db = Object.assign(new Error(`invalid byte sequence for encoding "UTF8": "${phone}"`), {
      severity: 'ERROR',
      code: '22021',
      routine: 'report_invalid_encoding',
      detail: 'Key (name)=(张三)',
      where: "unnamed portal parameter $1 = '张三'",
      params: ['张三', residentId],
    })
    const drizzle = Object.assign(
      new Error(`Failed query: insert into cases (name) values ($1)\nparams: 张三,${residentId}`, { cause: db }),
      { name: 'DrizzleQueryError', query: 'insert into cases (name) values ($1)', params: ['张三', residentId] },
    )
    drizzle.name = 'DrizzleQueryError'
    logger.error({ err: drizzle }, 'db')
    const out = lines.join('')
    expect(out).not.toContain('张三')
    for (const f of leakForms) expect(out, f).not.toContain(f)
    const err = JSON.parse(lines[0]!).err
    expect(err.message).toBe('Failed query: insert into cases (name) values ($1)')
    expect(err.cause).toMatchObject({ code: '22021', severity: 'ERROR', routine: 'report_invalid_encoding' })
    expect(err.cause.detail).toBeUndefined()
    expect(err.cause.where).toBeUndefined()
  })

  it('masks a phone number sent as a JSON number', () => {
    const { lines, logger } = capture()
    logger.info({ body: { phone: Number(phone), count: 3 } }, 'x')
    const line = JSON.parse(lines[0]!)
    expect(line.body).toEqual({ phone: '[redacted-phone]', count: 3 })
  })
})
