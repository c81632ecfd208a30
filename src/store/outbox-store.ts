import { sql } from 'drizzle-orm'
import type { OutboxRow, OutboxStore } from '../ports/case-store.js'
import { type Database, queryRows } from './db.js'
import { outbox } from './schema.js'

/**
 * The transactional outbox in PostgreSQL (or PGlite). Rows are written by `CaseTx.addOutbox` in the
 * transaction of the change that causes them; `drain` hands them to a publisher and deletes them only
 * once it has succeeded, so a message is published at least once (the queue's job ids make it once).
 *
 * @example
 * const store = new PgOutboxStore(database)
 * await store.drain(200, async (rows) => producer.enqueueBulk(...))
 */
export class PgOutboxStore implements OutboxStore {
  private readonly database: Database

  constructor(database: Database) {
    this.database = database
  }

  drain(limit: number, publish: (rows: OutboxRow[]) => Promise<void>): Promise<number> {
    return this.database.transaction(async (tx) => {
      // Deleted and returned in one statement, still inside the transaction: if publishing fails, the
      // rollback puts them back. SKIP LOCKED: a concurrent drain takes other rows instead of waiting.
      const rows = await queryRows<{
        id: string | number
        topic: string
        key: string
        payload: Record<string, unknown>
        created_at: string
      }>(
        tx.db,
        sql`delete from ${outbox} where ${outbox.id} in (
              select ${outbox.id} from ${outbox} order by ${outbox.id} limit ${limit} for update skip locked)
            returning id, topic, key, payload, created_at`,
      )
      if (rows.length === 0) return 0
      const ordered = rows
        .map((r) => ({
          id: Number(r.id),
          topic: r.topic,
          key: r.key,
          payload: r.payload,
          createdAt: new Date(r.created_at),
        }))
        .sort((a, b) => a.id - b.id)
      await publish(ordered)
      return ordered.length
    })
  }

  async pending(): Promise<number> {
    const [row] = await queryRows<{ n: number }>(this.database.db, sql`select count(*)::int as n from ${outbox}`)
    return row?.n ?? 0
  }
}
