import type { MaterialsOverdue, OutstandingQuery } from '../ports/outstanding.js'
import type { Database } from './db.js'

interface Row extends Record<string, unknown> {
  id: string
  parent_id: string | null
  item: string | null
  origin_region: string
  processing_region: string | null
  outstanding_materials: string[]
  supply_by: string
}

/** The 容缺 query on `cases` (partial index `cases_supply_by_idx`). */
export class PgOutstandingStore implements OutstandingQuery {
  constructor(private readonly database: Database) {}

  async materialsOverdue(
    today: string,
    limit: number,
    opts: { unreported?: boolean } = {},
  ): Promise<MaterialsOverdue[]> {
    // A fixed fragment, chosen by a flag (nothing from the caller reaches the SQL text).
    const unreported = opts.unreported ? 'and materials_reported_for is distinct from supply_by' : ''
    const rows = await this.database.query<Row>(
      `select id, parent_id, item, origin_region, processing_region, outstanding_materials,
              to_char(supply_by, 'YYYY-MM-DD') as supply_by
         from cases
        where supply_by is not null and supply_by < $1::date and cardinality(outstanding_materials) > 0
          and status not in ('rejected', 'completed', 'result_delivered', 'closed', 'withdrawn', 'delivery_failed')
          ${unreported}
        order by supply_by, id limit $2`,
      [today, limit],
    )
    return rows.map((r) => ({
      caseId: r.id,
      parentId: r.parent_id,
      item: r.item,
      originRegion: r.origin_region,
      processingRegion: r.processing_region,
      outstanding: r.outstanding_materials,
      supplyBy: r.supply_by,
    }))
  }
}
