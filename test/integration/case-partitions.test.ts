/**
 * Migration 0033 on a populated database: `cases` and `case_events` become partitioned by month on the case
 * id, with every row, index, trigger and foreign key kept; a look-up by id reads one partition; the lasting
 * uniqueness of a client's externalRef survives; further months are created on demand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newCaseId } from '../../src/domain/case-id.js'
import type { Database } from '../../src/store/db.js'
import { submitIntake } from '../../src/store/intake.js'
import { migrate } from '../../src/store/migrate.js'
import { migrations } from '../../src/store/migrations/index.js'
import { storedCase, storedIntake } from '../fixtures/cases.js'
import { createTestDatabase } from '../helpers/db.js'

/** Which partition holds the row. */
async function partitionOf(database: Database, table: string, column: string, id: string): Promise<string> {
  const [row] = await database.query<{ p: string }>(
    `select tableoid::regclass::text as p from ${table} where ${column} = $1`,
    [id],
  )
  return row?.p ?? '(none)'
}

describe('migration 0033 partitions a populated database', () => {
  let database: Database
  let drop: () => Promise<void>
  // Months in China Standard Time: 2025-12-31 20:00 UTC is already January 2026 there.
  const old = storedCase(new Date('2025-03-10T02:00:00Z'), { externalRef: 'ZW-OLD' })
  const newYear = storedCase(new Date('2025-12-31T20:00:00Z'), { externalRef: 'ZW-NY' })
  const legacy = { ...storedCase(new Date('2025-06-01T00:00:00Z'), { externalRef: 'ZW-LEGACY' }), id: 'legacy-0001' }

  beforeAll(async () => {
    ;({ database, drop } = await createTestDatabase({ migrate: false }))
    // The schema as it was before 0033, with rows in it.
    await database.query(
      'CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
      [],
    )
    for (const m of migrations.filter((m) => m.version < 33)) {
      await database.transaction(async (tx) => {
        await tx.execScript(m.sql)
      })
      await database.query('insert into schema_migrations (version, name) values ($1, $2)', [m.version, m.name])
    }
    for (const c of [old, newYear, legacy])
      expect(await submitIntake(database, storedIntake(c))).toEqual({ kind: 'created' })
    await database.query(
      `insert into results (case_id, jws, claims, issuer, kid, attested, verified_at) values ($1, 'x', '{}', 'i', 'k', false, now())`,
      [old.id],
    )
    const { applied } = await migrate(database)
    expect(applied).toContain('0033-case-partitions')
  })
  afterAll(async () => drop?.())

  it('keeps every case and event, each in the partition of its month (CST), non-UUIDv7 ids in DEFAULT', async () => {
    expect(await partitionOf(database, 'cases', 'id', old.id)).toBe('cases_y2025m03')
    expect(await partitionOf(database, 'cases', 'id', newYear.id)).toBe('cases_y2026m01')
    expect(await partitionOf(database, 'cases', 'id', legacy.id)).toBe('cases_default')
    expect(await partitionOf(database, 'case_events', 'case_id', old.id)).toBe('case_events_y2025m03')
    expect(await partitionOf(database, 'case_events', 'case_id', legacy.id)).toBe('case_events_default')
    const [n] = await database.query<{ cases: number; events: number }>(
      'select (select count(*)::int from cases) as cases, (select count(*)::int from case_events) as events',
      [],
    )
    expect(n).toEqual({ cases: 3, events: 3 })
  })

  it('creates the months between the oldest case and three months ahead, with their indexes', async () => {
    const parts = await database.query<{ name: string }>(
      `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'cases'::regclass order by 1`,
      [],
    )
    const names = parts.map((p) => p.name)
    expect(names).toContain('cases_y2025m03')
    expect(names).toContain('cases_y2025m07')
    expect(names).toContain('cases_default')
    const [idx] = await database.query<{ n: number }>(
      `select count(*)::int as n from pg_indexes where tablename = 'cases_y2025m03'`,
      [],
    )
    const [parentIdx] = await database.query<{ n: number }>(
      `select count(*)::int as n from pg_indexes where tablename = 'cases'`,
      [],
    )
    expect(idx?.n).toBe(parentIdx?.n)
  })

  it('prunes a look-up by id to one partition', async () => {
    const plan = await database.query<{ 'QUERY PLAN': string }>(
      `explain select * from cases where id = '${old.id}'`,
      [],
    )
    const text = plan.map((r) => r['QUERY PLAN']).join('\n')
    expect(text).toContain('cases_y2025m03')
    expect(text).not.toContain('cases_y2026m01')
  })

  it('keeps the timeline append-only and the foreign keys', async () => {
    await expect(database.query('update case_events set actor = $1 where case_id = $2', ['x', old.id])).rejects.toThrow(
      /append-only/,
    )
    await expect(
      database.query(
        `insert into case_events (case_id, seq, type, at, actor, data, prev_hash, hash)
         values ('0190ffff-ffff-7fff-8fff-ffffffffffff', 1, 'x', now(), 'a', '{}', 'a', 'b')`,
        [],
      ),
    ).rejects.toThrow(/foreign key/)
  })

  it('still refuses a second case under a client’s externalRef, however much later', async () => {
    const again = storedCase(new Date('2026-02-01T00:00:00Z'), { externalRef: 'ZW-OLD' })
    await expect(submitIntake(database, storedIntake(again))).rejects.toThrow(/case_external_refs/)
    const [row] = await database.query<{ n: number }>('select count(*)::int as n from cases where external_ref = $1', [
      'ZW-OLD',
    ])
    expect(row?.n).toBe(1)
  })

  it('creates further months on demand, once, and writes go to them', async () => {
    const first = await database.query<{ month: string; created: boolean }>(
      `select month::text, created from tongban_ensure_case_partitions('2030-01-01', '2030-02-01')`,
      [],
    )
    expect(first).toEqual([
      { month: '2030-01-01', created: true },
      { month: '2030-02-01', created: true },
    ])
    const second = await database.query('select * from tongban_ensure_case_partitions($1, $2)', [
      '2030-01-01',
      '2030-02-01',
    ])
    expect(second).toEqual([])
    const later = storedCase(new Date('2030-01-15T00:00:00Z'))
    expect(await submitIntake(database, storedIntake(later))).toEqual({ kind: 'created' })
    expect(await partitionOf(database, 'cases', 'id', later.id)).toBe('cases_y2030m01')
  })

  it('skips a month whose ids already sit in DEFAULT, instead of failing', async () => {
    const stray = storedCase(new Date('2031-05-05T00:00:00Z'))
    expect(await submitIntake(database, storedIntake(stray))).toEqual({ kind: 'created' })
    expect(await partitionOf(database, 'cases', 'id', stray.id)).toBe('cases_default')
    const made = await database.query<{ month: string; created: boolean }>(
      `select month::text, created from tongban_ensure_case_partitions('2031-05-01', '2031-05-01')`,
      [],
    )
    expect(made).toEqual([{ month: '2031-05-01', created: false }])
  })
})

describe('migrations 0019 and 0033 on a database with duplicate externalRefs', () => {
  let database: Database
  let drop: () => Promise<void>
  const at = (iso: string) => new Date(iso)
  // Three cases of one client under one reference, the last the oldest (from before 0019 made it unique).
  const ids = [
    newCaseId(at('2025-05-02T00:00:00Z')),
    newCaseId(at('2025-05-03T00:00:00Z')),
    newCaseId(at('2025-05-01T00:00:00Z')),
  ]
  const other = newCaseId(at('2025-05-04T00:00:00Z'))

  beforeAll(async () => {
    ;({ database, drop } = await createTestDatabase({ migrate: false }))
    await database.query(
      'CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
      [],
    )
    for (const m of migrations.filter((m) => m.version < 19)) {
      await database.transaction((tx) => tx.execScript(m.sql))
      await database.query('insert into schema_migrations (version, name) values ($1, $2)', [m.version, m.name])
    }
    const rows = [...ids.map((id) => [id, 'OLD']), [other, 'OTHER']]
    for (const [id, ref] of rows) {
      await database.query(
        `insert into cases (id, external_ref, created_by, created_by_kind, mode, scope, origin_region, status,
           applicant_kind, applicant_name, applicant_id_type, applicant_id_enc, applicant_id_hmac, applicant_id_masked,
           form, materials, body_hash, receipt, created_at, updated_at)
         values ($1, $2, 'zw', 'client', 'full_online', 'cross_city', '420303', 'submitted', 'person', '测试',
           'resident_id', '\\x00', '\\x00', '420303********1234', '{}', '[]', 'x', 'x', $3, $3)`,
        [id, ref, new Date(Number.parseInt((id ?? '').replace(/-/g, '').slice(0, 12), 16)).toISOString()],
      )
    }
    await migrate(database)
  })
  afterAll(async () => drop?.())

  it('keeps the oldest as the one the reference names, in case_external_refs', async () => {
    const dups = await database.query<{ case_id: string; kept_case_id: string }>(
      "select case_id, kept_case_id from external_ref_duplicates where external_ref = 'OLD' order by case_id",
      [],
    )
    expect(dups).toEqual([ids[0], ids[1]].sort().map((id) => ({ case_id: id, kept_case_id: ids[2] })))
    const refs = await database.query<{ external_ref: string; case_id: string }>(
      'select external_ref, case_id from case_external_refs order by external_ref',
      [],
    )
    expect(refs).toEqual([
      { external_ref: 'OLD', case_id: ids[2] },
      { external_ref: 'OTHER', case_id: other },
    ])
  })

  it('refuses another case under a taken reference, by an update too', async () => {
    await expect(database.query("update cases set external_ref = 'OLD' where id = $1", [other])).rejects.toThrow(
      /case_external_refs/,
    )
    // A reference that moves frees the old one.
    await database.query("update cases set external_ref = 'NEW' where id = $1", [other])
    const refs = await database.query<{ external_ref: string }>(
      'select external_ref from case_external_refs where case_id = $1',
      [other],
    )
    expect(refs).toEqual([{ external_ref: 'NEW' }])
  })
})
