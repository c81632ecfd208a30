/**
 * The `cases` columns are listed once (the Drizzle schema, and `store/case-row.ts` for what a new case fills):
 * the migrated database, the schema and the intake statement must agree on them, on PostgreSQL and PGlite;
 * so must the migrated database and the schema on every other table the schema defines.
 */
import { getTableColumns, getTableName, is } from 'drizzle-orm'
import { PgTable } from 'drizzle-orm/pg-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newCaseId } from '../../src/domain/case-id.js'
import { caseRow } from '../../src/store/case-row.js'
import type { Database } from '../../src/store/db.js'
import { caseColumns, intakeStatement, submitIntake } from '../../src/store/intake.js'
import * as schema from '../../src/store/schema.js'
import { storedCase, storedIntake } from '../fixtures/cases.js'
import { createTestDatabase, createTestPglite } from '../helpers/db.js'

const { cases } = schema
const schemaColumns = Object.values(getTableColumns(cases))
const tables = Object.values(schema as Record<string, unknown>)
  .filter((t): t is PgTable => is(t, PgTable))
  .map((table) => ({ name: getTableName(table), table }))
/**
 * A type as PostgreSQL names it: `timestamp (3) with time zone` (Drizzle) is `timestamp(3) with time zone`, and a
 * `bigserial` is a `bigint` with a sequence for its default.
 */
const typeName = (t: string) => (t === 'bigserial' ? 'bigint' : t === 'serial' ? 'integer' : t.replace(/ \(/g, '('))

const newCase = (createdAt: Date) => storedCase(createdAt, { externalRef: 'ZW-0001' })

const engines = [
  { name: 'postgres', open: () => createTestDatabase() },
  { name: 'pglite', open: () => createTestPglite() },
] as const

describe.each(engines)('the cases columns on $name', ({ open }) => {
  let database: Database
  let drop: () => Promise<void>

  beforeAll(async () => {
    ;({ database, drop } = await open())
  })
  afterAll(async () => drop?.())

  // Every table the Drizzle schema defines, not only `cases`: a column a migration adds must be added there too.
  it.each(tables)(
    'the migrated table $name has exactly the schema’s columns, types, nullability and defaults',
    async ({ name, table }) => {
      const inDatabase = await database.query<{ name: string; type: string; not_null: boolean; has_default: boolean }>(
        `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as not_null,
         a.atthasdef as has_default
       from pg_attribute a where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped
       order by a.attname`,
        [name],
      )
      const inSchema = Object.values(getTableColumns(table))
        .map((c) => ({ name: c.name, type: typeName(c.getSQLType()), not_null: c.notNull, has_default: c.hasDefault }))
        .sort((a, b) => (a.name < b.name ? -1 : 1))
      expect(inDatabase).toEqual(inSchema)
    },
  )

  it('the intake statement writes schema columns with their types, and every one a new case needs', () => {
    const byName = new Map(schemaColumns.map((c) => [c.name, c]))
    for (const [name, type] of caseColumns) expect(byName.get(name)?.getSQLType(), name).toBe(type)
    const written = new Set(caseColumns.map(([name]) => name))
    const needed = schemaColumns.filter((c) => c.notNull && !c.hasDefault).map((c) => c.name)
    expect(needed.filter((name) => !written.has(name))).toEqual([])
    const { text } = intakeStatement(storedIntake(newCase(new Date())))
    expect(text).toContain(`insert into cases (${caseColumns.map(([name]) => name).join(', ')})`)
  })

  it('a case written by the intake statement is the row Drizzle’s insert writes for it', async () => {
    const at = new Date('2026-03-02T01:00:00.007Z')
    const viaIntake = newCase(at)
    const viaDrizzle = { ...viaIntake, id: newCaseId(at), externalRef: 'ZW-0002' }
    expect(await submitIntake(database, storedIntake(viaIntake))).toEqual({ kind: 'created' })
    await database.db.insert(cases).values(caseRow(viaDrizzle))
    const [a, b] = await Promise.all(
      [viaIntake.id, viaDrizzle.id].map(async (id) => {
        const [row] = await database.query<Record<string, unknown>>('select * from cases where id = $1', [id])
        return row
      }),
    )
    expect(a, 'the intake wrote no row').toBeDefined()
    const { id: _a, external_ref: refA, last_seq: seqA, ...restA } = a ?? {}
    const { id: _b, external_ref: refB, last_seq: seqB, ...restB } = b ?? {}
    expect([refA, refB, seqA, seqB]).toEqual(['ZW-0001', 'ZW-0002', 1, 0])
    expect(restA).toEqual(restB)
    expect(Object.keys(restA).length).toBe(schemaColumns.length - 3)
  })
})
