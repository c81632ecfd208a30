/** Case ids: UUIDv7, sortable by creation time. */
import { describe, expect, it } from 'vitest'
import { newCaseId } from '../../src/domain/case-id.js'

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('newCaseId', () => {
  it('is a lowercase UUIDv7 carrying the creation millisecond', () => {
    const at = new Date('2026-02-03T04:05:06.789Z')
    const id = newCaseId(at)
    expect(id).toMatch(UUID_V7)
    expect(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBe(at.getTime())
  })

  it('sorts by creation time, as strings', () => {
    const base = Date.parse('2026-01-01T00:00:00Z')
    const ids = Array.from({ length: 500 }, (_, i) => newCaseId(new Date(base + i * 7)))
    expect([...ids].reverse().sort()).toEqual(ids)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('refuses dates outside 48-bit milliseconds', () => {
    expect(() => newCaseId(new Date(-1))).toThrow(RangeError)
    expect(() => newCaseId(new Date(Number.NaN))).toThrow(RangeError)
  })
})
