/** Which months the archive policy takes, and the CST month of an instant (services/archive.ts, partitions.ts). */
import { describe, expect, it } from 'vitest'
import { monthsToArchive, verifyArchive } from '../../src/services/archive.js'
import { cstMonth } from '../../src/services/partitions.js'

describe('cstMonth', () => {
  it('is the month in China Standard Time, with months added across years', () => {
    expect(cstMonth(new Date('2025-12-31T15:59:59.999Z'))).toBe('2025-12')
    expect(cstMonth(new Date('2025-12-31T16:00:00.000Z'))).toBe('2026-01')
    expect(cstMonth(new Date('2026-11-15T00:00:00Z'), 3)).toBe('2027-02')
    expect(cstMonth(new Date('2026-01-15T00:00:00Z'), -120)).toBe('2016-01')
  })
})

describe('monthsToArchive', () => {
  const months = ['2016-01', '2016-11', '2016-12', '2017-01', '2026-12']
  it('takes the months strictly older than the retention, none when it is 0', () => {
    const now = new Date('2026-12-06T00:00:00Z')
    expect(monthsToArchive(months, now, 120)).toEqual(['2016-01', '2016-11'])
    expect(monthsToArchive(months, now, 0)).toEqual([])
  })
})

describe('verifyArchive', () => {
  it('names a file that is not an archive, and one cut short', () => {
    expect(verifyArchive('{"x":1}\n', null).problems[0]?.problem).toMatch(/header/)
    const header = JSON.stringify({ format: 'tongban-archive/1', gateway: 'gw', month: '2016-01', keys: { keys: [] } })
    const cut = verifyArchive(`${header}\n{"case":{"id":"a"},"events":[]}\n`, null)
    expect(cut.valid).toBe(false)
    expect(cut.problems.map((p) => p.problem).join()).toMatch(/truncated/)
  })
})
