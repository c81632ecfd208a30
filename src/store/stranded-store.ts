import type { StrandedCandidate, StrandedCaseStore } from '../ports/stranded-store.js'
import type { Database } from './db.js'

interface Row extends Record<string, unknown> {
  id: string
  status: 'submitted' | 'delivery_failed'
  redrive_of: string | null
  updated_at: Date | string
}

/** {@link StrandedCaseStore} on the case table (the index `cases_status_id_idx` narrows it by status). */
export class PgStrandedCaseStore implements StrandedCaseStore {
  constructor(private readonly database: Database) {}

  async candidates(opts: { before: Date; limit: number }): Promise<StrandedCandidate[]> {
    const rows = await this.database.query<Row>(
      `select c.id, c.status, c.updated_at,
              (select e.data->>'deadLetter' from case_events e
                where e.case_id = c.id and e.type = 'redriven' order by e.seq desc limit 1) as redrive_of
         from cases c
        where c.status in ('submitted', 'delivery_failed')
          and (c.status = 'delivery_failed' or c.processing_region is not null)
          and c.updated_at < $1
          and not exists (select 1 from dead_letters d
                           where d.case_id = c.id and d.kind = 'dispatch' and d.redriven_at is null)
        order by c.updated_at, c.id limit $2`,
      [opts.before.toISOString(), opts.limit],
    )
    return rows.map((r) => ({
      caseId: r.id,
      status: r.status,
      redriveOf: r.redrive_of === null ? null : Number(r.redrive_of),
      updatedAt: new Date(r.updated_at),
    }))
  }
}
