/**
 * The overview's volume chart (store/evaluation-store.ts `volume`): cases submitted and completed per China
 * Standard Time day, every day present, on PostgreSQL and PGlite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { caseRow } from '../../src/store/case-row.js'
import type { Database } from '../../src/store/db.js'
import { PgEvaluationStore } from '../../src/store/evaluation-store.js'
import { cases } from '../../src/store/schema.js'
import { storedCase } from '../fixtures/cases.js'
import { createTestDatabase, createTestPglite } from '../helpers/db.js'

const engines = [
  { name: 'postgres', open: () => createTestDatabase() },
  { name: 'pglite', open: () => createTestPglite() },
] as const

describe.each(engines)('the daily volume on $name', ({ open }) => {
  let database: Database
  let drop: () => Promise<void>
  let store: PgEvaluationStore

  /** A case submitted at `created` (an instant with its offset), completed at `completed` if given. */
  async function insert(created: string, opts: { completed?: string; item?: string; parent?: boolean } = {}) {
    const c = storedCase(new Date(created), {
      ...(opts.item ? { item: opts.item } : {}),
      ...(opts.parent ? { processingRegion: null } : {}),
    })
    await database.db.insert(cases).values(caseRow(c))
    if (opts.completed)
      await database.query('update cases set completed_at = $2 where id = $1', [c.id, new Date(opts.completed)])
  }

  beforeAll(async () => {
    ;({ database, drop } = await open())
    store = new PgEvaluationStore(database)
    // 2026-09-01 23:30 CST is still the 1st in CST (15:30 UTC), 2026-09-02 00:10 CST is the 2nd (the 1st in UTC).
    await insert('2026-09-01T23:30:00+08:00', { completed: '2026-09-03T10:00:00+08:00' })
    await insert('2026-09-02T00:10:00+08:00')
    await insert('2026-09-02T09:00:00+08:00', { completed: '2026-09-02T16:00:00+08:00', item: 'hukou-transfer' })
    // Before the period (completed in it), after it, and a parent case (no processing region): only the completion counts.
    await insert('2026-08-31T23:59:59+08:00', { completed: '2026-09-01T00:00:00+08:00' })
    await insert('2026-09-05T00:00:00+08:00')
    await insert('2026-09-02T10:00:00+08:00', { parent: true })
  })
  afterAll(async () => drop?.())

  it('counts submissions and completions per CST day over [from, to), zero days included', async () => {
    expect(await store.volume({ from: '2026-09-01', to: '2026-09-05' })).toEqual([
      { day: '2026-09-01', submitted: 1, completed: 1 },
      { day: '2026-09-02', submitted: 2, completed: 1 },
      { day: '2026-09-03', submitted: 0, completed: 1 },
      { day: '2026-09-04', submitted: 0, completed: 0 },
    ])
  })

  it('spans a month’s end and a period with no cases at all', async () => {
    const days = await store.volume({ from: '2026-08-30', to: '2026-09-02' })
    expect(days.map((d) => d.day)).toEqual(['2026-08-30', '2026-08-31', '2026-09-01'])
    expect(days.map((d) => d.submitted)).toEqual([0, 1, 1])
    const empty = await store.volume({ from: '2027-01-01', to: '2027-01-31' })
    expect(empty).toHaveLength(30)
    expect(empty.every((d) => d.submitted === 0 && d.completed === 0)).toBe(true)
  })

  it('counts only the given items (a department-limited caller), nothing for an empty list', async () => {
    const only = await store.volume({ from: '2026-09-02', to: '2026-09-03', items: ['hukou-transfer'] })
    expect(only).toEqual([{ day: '2026-09-02', submitted: 1, completed: 1 }])
    const none = await store.volume({ from: '2026-09-02', to: '2026-09-03', items: [] })
    expect(none).toEqual([{ day: '2026-09-02', submitted: 0, completed: 0 }])
  })
})
