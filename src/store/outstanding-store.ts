import { and, asc, gt, isNotNull, lt, notInArray, sql } from 'drizzle-orm'
import type { MaterialsOverdue, OutstandingQuery } from '../ports/outstanding.js'
import type { Database } from './db.js'
import { cases as c } from './schema.js'

/** The statuses in which nothing more is asked of the applicant. */
const SETTLED = ['rejected', 'completed', 'result_delivered', 'closed', 'withdrawn', 'delivery_failed'] as const

/** The 容缺 query on `cases` (partial index `cases_supply_by_idx`). */
export class PgOutstandingStore implements OutstandingQuery {
  constructor(private readonly database: Database) {}

  async materialsOverdue(
    today: string,
    limit: number,
    opts: { unreported?: boolean } = {},
  ): Promise<MaterialsOverdue[]> {
    const rows = await this.database.db
      .select({
        caseId: c.id,
        parentId: c.parentId,
        item: c.item,
        originRegion: c.originRegion,
        processingRegion: c.processingRegion,
        outstanding: c.outstandingMaterials,
        supplyBy: c.supplyBy,
      })
      .from(c)
      .where(
        and(
          isNotNull(c.supplyBy),
          lt(c.supplyBy, today),
          gt(sql`cardinality(${c.outstandingMaterials})`, 0),
          notInArray(c.status, [...SETTLED]),
          opts.unreported ? sql`${c.materialsReportedFor} is distinct from ${c.supplyBy}` : undefined,
        ),
      )
      .orderBy(asc(c.supplyBy), asc(c.id))
      .limit(limit)
    return rows.map((r) => ({ ...r, supplyBy: r.supplyBy as string }))
  }
}
