import type { DeadLetter, DeadLetterStore } from '../ports/dead-letter-store.js'
import type { Database } from './db.js'

interface Row extends Record<string, unknown> {
  id: string | number
  case_id: string
  kind: 'dispatch' | 'event'
  seq: number | null
  region: string
  adapter: string
  reason: string
  attempts: number
  created_at: Date | string
  redriven_at: Date | string | null
  redriven_by: string | null
}

const columns = 'id, case_id, kind, seq, region, adapter, reason, attempts, created_at, redriven_at, redriven_by'

const toDeadLetter = (r: Row): DeadLetter => ({
  id: Number(r.id),
  caseId: r.case_id,
  kind: r.kind,
  seq: r.seq,
  region: r.region,
  adapter: r.adapter,
  reason: r.reason,
  attempts: r.attempts,
  createdAt: new Date(r.created_at),
  redrivenAt: r.redriven_at === null ? null : new Date(r.redriven_at),
  redrivenBy: r.redriven_by,
})

export class PgDeadLetterStore implements DeadLetterStore {
  constructor(private readonly database: Database) {}

  async add(
    d: Omit<DeadLetter, 'id' | 'seq' | 'createdAt' | 'redrivenAt' | 'redrivenBy'> & { seq?: number },
  ): Promise<DeadLetter> {
    const [row] = await this.database.query<Row>(
      `insert into dead_letters (case_id, kind, seq, region, adapter, reason, attempts)
       values ($1, $2, $3, $4, $5, $6, $7)
       returning ${columns}`,
      [d.caseId, d.kind, d.seq ?? null, d.region, d.adapter, d.reason.slice(0, 1000), d.attempts],
    )
    return toDeadLetter(row as Row)
  }

  async list(opts: { open: boolean; limit: number; before?: number | undefined }): Promise<DeadLetter[]> {
    const rows = await this.database.query<Row>(
      `select ${columns} from dead_letters
       where ($1::boolean is false or redriven_at is null) and ($2::bigint is null or id < $2::bigint)
       order by id desc limit $3`,
      [opts.open, opts.before ?? null, opts.limit],
    )
    return rows.map(toDeadLetter)
  }

  async get(id: number): Promise<DeadLetter | null> {
    const [row] = await this.database.query<Row>(`select ${columns} from dead_letters where id = $1`, [id])
    return row ? toDeadLetter(row) : null
  }

  async markRedriven(id: number, actor: string, at: Date): Promise<boolean> {
    const rows = await this.database.query(
      'update dead_letters set redriven_at = $2, redriven_by = $3 where id = $1 and redriven_at is null returning id',
      [id, at.toISOString(), actor],
    )
    return rows.length > 0
  }

  async openEvents(caseIds: string[]): Promise<(DeadLetter & { eventType: string })[]> {
    if (caseIds.length === 0) return []
    const rows = await this.database.query<Row & { event_type: string }>(
      `select ${columns
        .split(', ')
        .map((c) => `d.${c}`)
        .join(', ')}, e.type as event_type
         from dead_letters d join case_events e on e.case_id = d.case_id and e.seq = d.seq
        where d.case_id = any($1::text[]) and d.kind = 'event' and d.redriven_at is null
        order by d.id`,
      [caseIds],
    )
    return rows.map((r) => ({ ...toDeadLetter(r), eventType: r.event_type }))
  }

  async countOpen(): Promise<number> {
    const [row] = await this.database.query<{ n: number }>(
      'select count(*)::int as n from dead_letters where redriven_at is null',
      [],
    )
    return row?.n ?? 0
  }
}
