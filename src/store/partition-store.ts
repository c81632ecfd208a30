/**
 * `CasePartitionStore` on PostgreSQL and PGlite: migration 0033's `tongban_ensure_case_partitions` does the
 * DDL (a SECURITY DEFINER function, so the runtime role can add months and nothing else).
 */
import type { CasePartitionStore } from '../ports/case-partitions.js'
import type { Database } from './db.js'

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/

/** `YYYY-MM` → the date of its first day; throws on anything else (the text reaches SQL only as a parameter). */
export function firstDayOf(month: string): string {
  if (!MONTH.test(month)) throw new RangeError(`not a month (YYYY-MM): ${month}`)
  return `${month}-01`
}

export class PgCasePartitionStore implements CasePartitionStore {
  constructor(private readonly database: Database) {}

  async ensure(from: string, to: string): Promise<{ month: string; created: boolean }[]> {
    const rows = await this.database.query<{ month: string; created: boolean }>(
      `select to_char(month, 'YYYY-MM') as month, created from tongban_ensure_case_partitions($1::date, $2::date)`,
      [firstDayOf(from), firstDayOf(to)],
    )
    return rows.map((r) => ({ month: r.month, created: r.created }))
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
}
