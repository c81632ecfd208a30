import { describe, expect, it } from 'vitest'
import { AppError, databaseUnavailable, isDatabaseUnavailable } from '../../src/errors.js'

const pgError = (code: string) => Object.assign(new Error('x'), { code, severity: 'FATAL' })

describe('isDatabaseUnavailable', () => {
  it.each([
    ['connection exception 08006', pgError('08006')],
    ['admin shutdown 57P01', pgError('57P01')],
    ['cannot connect now 57P03', pgError('57P03')],
    ['serialization failure 40001', pgError('40001')],
    ['deadlock 40P01', pgError('40P01')],
    ['too many connections 53300', pgError('53300')],
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['pg: terminated', new Error('Connection terminated unexpectedly')],
    ['pg: connect timeout', new Error('timeout exceeded when trying to connect')],
    ['PGlite closed', new Error('PGlite is closed')],
    ['wrapped by drizzle', new Error('Failed query: select 1', { cause: pgError('57P01') })],
    ['inside an AggregateError', new AggregateError([new Error('x'), pgError('08001')])],
  ])('yes: %s', (_name, e) => {
    expect(isDatabaseUnavailable(e)).toBe(true)
    const app = databaseUnavailable(e)
    expect(app?.code).toBe('database_unavailable')
    expect(app?.retryable).toBe(true)
    expect(app?.status).toBe(503)
  })

  it.each([
    ['unique violation 23505', pgError('23505')],
    ['invalid text 22P05', pgError('22P05')],
    ['a bug', new TypeError('x is undefined')],
    ['an AppError', new AppError('not_found', 'no case')],
    ['not an error', 'ECONNREFUSED'],
  ])('no: %s', (_name, e) => {
    expect(isDatabaseUnavailable(e) && !(e instanceof AppError)).toBe(false)
    expect(databaseUnavailable(e)).toBeUndefined()
  })
})
