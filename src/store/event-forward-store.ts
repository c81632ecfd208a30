import { and, eq } from 'drizzle-orm'
import type { EventType } from '../domain/lifecycle.js'
import type {
  EventForwardStore,
  ForwardDirection,
  UnforwardedEvent,
  UnforwardedQuery,
} from '../ports/event-forward-store.js'
import type { Database } from './db.js'
import { eventForwards } from './schema.js'

export class PgEventForwardStore implements EventForwardStore {
  constructor(private readonly database: Database) {}

  async isForwarded(caseId: string, seq: number): Promise<boolean> {
    const rows = await this.database.db
      .select({ seq: eventForwards.seq })
      .from(eventForwards)
      .where(and(eq(eventForwards.caseId, caseId), eq(eventForwards.seq, seq)))
    return rows.length > 0
  }

  async markForwarded(caseId: string, seq: number, direction: ForwardDirection, at: Date): Promise<void> {
    await this.database.db
      .insert(eventForwards)
      .values({ caseId, seq, direction, forwardedAt: at })
      .onConflictDoNothing({ target: [eventForwards.caseId, eventForwards.seq] })
  }

  async unforwarded(q: UnforwardedQuery): Promise<UnforwardedEvent[]> {
    const rows = await this.database.query<{
      case_id: string
      seq: number
      type: EventType
      at: Date | string
      redrive_of: string | number | null
    }>(
      `select e.case_id, e.seq, e.type, e.at,
              (select max(d.id) from dead_letters d
                where d.case_id = e.case_id and d.kind = 'event' and d.seq = e.seq and d.redriven_at is not null)
                as redrive_of
         from case_events e join cases c on c.id = e.case_id
        where e.at >= $1 and e.at < $2
          and not (c.parent_id is null and c.processing_region is null)
          and ((e.type = any($3::text[]) and c.remote_ref is not null and c.processing_region is not null)
               or (e.type = any($4::text[]) and c.external_ref is not null))
          and not exists (select 1 from event_forwards f where f.case_id = e.case_id and f.seq = e.seq)
          and not exists (select 1 from dead_letters d
                           where d.case_id = e.case_id and d.kind = 'event' and d.seq = e.seq and d.redriven_at is null)
          and ($5::timestamptz is null or (e.at, e.case_id, e.seq) > ($5::timestamptz, $6::text, $7::int))
        order by e.at, e.case_id, e.seq
        limit $8`,
      [
        q.since.toISOString(),
        q.before.toISOString(),
        q.toProcessing,
        q.toOrigin,
        q.after?.at.toISOString() ?? null,
        q.after?.caseId ?? null,
        q.after?.seq ?? null,
        q.limit,
      ],
    )
    return rows.map((r) => ({
      caseId: r.case_id,
      seq: r.seq,
      type: r.type,
      at: new Date(r.at),
      redriveOf: r.redrive_of === null ? null : Number(r.redrive_of),
    }))
  }
}
