import { sql } from 'drizzle-orm'
import type { LastDelivery, LastDeliveryStore } from '../ports/last-delivery.js'
import { type Database, queryRows } from './db.js'

/**
 * One statement, a few index probes per region: per region, its newest delivered case (cases by
 * (processing_region, id), ids in creation order) and the time of that case's `dispatched` event (its
 * primary key), and its newest dispatch dead letter (dead_letters by (region, id)); the newest of all wins.
 * "Newest delivered case" is the newest case created that has been delivered, which is the last delivery
 * unless an older case was delivered after it (a retry, a re-drive). A `sql` template: the builder cannot
 * say a lateral join over an unnested array.
 */
export class PgLastDeliveryStore implements LastDeliveryStore {
  constructor(private readonly database: Database) {}

  async lastDelivery(regions: readonly string[]): Promise<LastDelivery | null> {
    if (regions.length === 0) return null
    const [row] = await queryRows<{ case_id: string; at: Date | string; outcome: 'dispatched' | 'failed' }>(
      this.database.db,
      sql`with r(code) as (select unnest(${sql.param(regions)}::text[]))
       select case_id, at, outcome from (
         select d.case_id, d.at, 'dispatched' as outcome from r cross join lateral (
           select c.id as case_id,
                  (select e.at from case_events e where e.case_id = c.id and e.type = 'dispatched'
                    order by e.seq desc limit 1) as at
             from cases c where c.processing_region = r.code and c.remote_ref is not null
            order by c.id desc limit 1) d
         union all
         select l.case_id, l.created_at, 'failed' from r cross join lateral (
           select case_id, created_at from dead_letters where region = r.code and kind = 'dispatch'
            order by id desc limit 1) l
       ) x where at is not null order by at desc limit 1`,
    )
    return row ? { caseId: row.case_id, at: new Date(row.at), outcome: row.outcome } : null
  }
}
