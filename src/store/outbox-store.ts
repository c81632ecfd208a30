import { asc, inArray, sql } from 'drizzle-orm'
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
      const rows = await tx.db
        .select()
        .from(outbox)
        .orderBy(asc(outbox.id))
        .limit(limit)
        .for('update', { skipLocked: true })
      if (rows.length === 0) return 0
      // Rows stay locked while publishing: a concurrent drain skips them instead of publishing twice.
      await publish(rows)
      await tx.db.delete(outbox).where(
        inArray(
          outbox.id,
          rows.map((r) => r.id),
        ),
      )
      return rows.length
    })
  }

  async pending(): Promise<number> {
    const [row] = await queryRows<{ n: number }>(this.database.db, sql`select count(*)::int as n from ${outbox}`)
    return row?.n ?? 0
  }
}
