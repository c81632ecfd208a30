/**
 * `CasePartitionStore` on PostgreSQL and PGlite: migration 0033's `tongban_ensure_case_partitions` does the
 * DDL (a SECURITY DEFINER function, so the runtime role can add months and nothing else).
 */
import { setTimeout as delay } from 'node:timers/promises'
import { sql } from 'drizzle-orm'
import { AppError } from '../errors.js'
import type {
  ArchivedCaseRows,
  CaseArchiveStore,
  CasePartitionStore,
  MonthFingerprint,
} from '../ports/case-partitions.js'
import { type Database, queryRows } from './db.js'

/** The tables whose foreign keys point to `cases (id)`, and the column that does (migrations 0003–0033). */
const RELATED: readonly [table: string, column: string][] = [
  ['results', 'case_id'],
  ['dead_letters', 'case_id'],
  ['inspections', 'parent_id'],
  ['external_ref_duplicates', 'case_id'],
  ['external_ref_duplicates', 'kept_case_id'],
  ['case_external_refs', 'case_id'],
]

/** A month's id range: the UUIDv7 floors of its first instant and of the next month's (migration 0033). */
const RANGE = `tongban_case_id_floor(tongban_month_start($1::date)) as lo,
  tongban_case_id_floor(tongban_month_start(($1::date + interval '1 month')::date)) as hi`

const partitionsOf = (month: string) => {
  const suffix = `y${month.slice(0, 4)}m${month.slice(5, 7)}`
  return { cases: `cases_${suffix}`, events: `case_events_${suffix}` }
}

const LOCK_NOT_AVAILABLE = '55P03'
const ENSURE_ATTEMPTS = 8

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/

/** `YYYY-MM` → the date of its first day; throws on anything else (the text reaches SQL only as a parameter). */
export function firstDayOf(month: string): string {
  if (!MONTH.test(month)) throw new RangeError(`not a month (YYYY-MM): ${month}`)
  return `${month}-01`
}

export class PgCasePartitionStore implements CasePartitionStore, CaseArchiveStore {
  constructor(private readonly database: Database) {}

  /**
   * Creates the months from `from` to `to` that have none. The function takes its locks at once, waiting at
   * most 200 ms (migration 0033); on a busy moment it gives way (lock_not_available) and is asked again, a
   * few times, a little later each time, before the error reaches the schedule (which runs again tomorrow).
   */
  async ensure(from: string, to: string): Promise<{ month: string; created: boolean }[]> {
    const params = [firstDayOf(from), firstDayOf(to)]
    for (let attempt = 1; ; attempt++) {
      try {
        const rows = await this.database.query<{ month: string; created: boolean }>(
          `select to_char(month, 'YYYY-MM') as month, created from tongban_ensure_case_partitions($1::date, $2::date)`,
          params,
        )
        return rows.map((r) => ({ month: r.month, created: r.created }))
      } catch (e) {
        if (attempt >= ENSURE_ATTEMPTS || (e as { code?: unknown }).code !== LOCK_NOT_AVAILABLE) throw e
        await delay(attempt * 250)
      }
    }
  }

  async months(): Promise<string[]> {
    const rows = await this.database.query<{ name: string }>(
      `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'cases'::regclass order by 1`,
      [],
    )
    return rows.flatMap(({ name }) => {
      const m = /^cases_y(\d{4})m(\d{2})$/.exec(name)
      return m ? [`${m[1]}-${m[2]}`] : []
    })
  }

  async readMonth(month: string, after: string | null, limit: number): Promise<ArchivedCaseRows[]> {
    const related = RELATED.map(
      ([table, column]) =>
        `'${table}.${column}', coalesce((select jsonb_agg(to_jsonb(r)) from ${table} r where r.${column} = c.id), '[]')`,
    ).join(', ')
    const rows = await this.database.query<{
      id: string
      row: Record<string, unknown>
      events: unknown
      related: unknown
    }>(
      `with b as (select ${RANGE})
       select c.id, to_jsonb(c) as row,
              coalesce((select jsonb_agg(to_jsonb(e) order by e.seq) from case_events e where e.case_id = c.id), '[]') as events,
              jsonb_build_object(${related}) as related
         from b, cases c
        where c.id >= b.lo and c.id < b.hi and ($2::text is null or c.id > $2::text)
        order by c.id limit $3`,
      [firstDayOf(month), after, limit],
    )
    return rows.map((r) => ({
      id: r.id,
      row: r.row,
      events: r.events as Record<string, unknown>[],
      related: r.related as Record<string, Record<string, unknown>[]>,
    }))
  }

  async fingerprint(month: string): Promise<MonthFingerprint> {
    const [row] = await this.database.query<{ cases: number; events: number; last: Date | string | null }>(
      `with b as (select ${RANGE})
       select (select count(*)::int from cases, b where id >= b.lo and id < b.hi) as cases,
              (select count(*)::int from case_events, b where case_id >= b.lo and case_id < b.hi) as events,
              (select max(updated_at) from cases, b where id >= b.lo and id < b.hi) as last`,
      [firstDayOf(month)],
    )
    return {
      cases: row?.cases ?? 0,
      events: row?.events ?? 0,
      lastUpdate: row?.last ? new Date(row.last).toISOString() : null,
    }
  }

  async detach(month: string, expected: MonthFingerprint): Promise<string[]> {
    const { cases, events } = partitionsOf(month)
    const day = firstDayOf(month)
    return this.database.transaction(async (tx) => {
      // DETACH … CONCURRENTLY is refused while a DEFAULT partition exists: a plain DETACH, which holds an ACCESS
      // EXCLUSIVE lock on cases for the few statements below. A short lock_timeout keeps it from queueing
      // writes behind a long report: it fails and is tried again later instead.
      await tx.db.execute(sql`set local lock_timeout = '5s'`)
      await tx.db.execute(sql.raw('lock table cases, case_events in access exclusive mode'))
      const [now] = await queryRows<{ cases: number; events: number; last: Date | string | null }>(
        tx.db,
        sql`select (select count(*)::int from ${sql.identifier(cases)}) as cases,
                   (select count(*)::int from ${sql.identifier(events)}) as events,
                   (select max(updated_at) from ${sql.identifier(cases)}) as last`,
      )
      const lastUpdate = now?.last ? new Date(now.last).toISOString() : null
      if (now?.cases !== expected.cases || now.events !== expected.events || lastUpdate !== expected.lastUpdate) {
        throw new AppError('conflict', `month ${month} changed since it was exported: export it again`)
      }
      await tx.db.execute(sql`alter table case_events detach partition ${sql.identifier(events)}`)
      // The detached table keeps the pieces of the foreign key to cases: they would stop cases' detach.
      const fks = await queryRows<{ name: string }>(
        tx.db,
        sql`select conname as name from pg_constraint
             where conrelid = ${events}::regclass and contype = 'f' and conparentid = 0`,
      )
      for (const { name } of fks) {
        await tx.db.execute(sql`alter table ${sql.identifier(events)} drop constraint ${sql.identifier(name)}`)
      }
      for (const [table, column] of RELATED) {
        await tx.db.execute(
          // COLLATE "C": some of these columns were made without it, and a locale's order is not the ids' order.
          sql`delete from ${sql.identifier(table)}
               where ${sql.identifier(column)} collate "C" >= tongban_case_id_floor(tongban_month_start(${day}::date))
                 and ${sql.identifier(column)} collate "C" < tongban_case_id_floor(tongban_month_start((${day}::date + interval '1 month')::date))`,
        )
      }
      await tx.db.execute(sql`alter table cases detach partition ${sql.identifier(cases)}`)
      const renamed = [`archived_${cases}`, `archived_${events}`]
      await tx.db.execute(sql`alter table ${sql.identifier(cases)} rename to ${sql.identifier(renamed[0] ?? '')}`)
      await tx.db.execute(sql`alter table ${sql.identifier(events)} rename to ${sql.identifier(renamed[1] ?? '')}`)
      return renamed
    })
  }
}
