import { asc, eq, sql } from 'drizzle-orm'
import { Binding } from '../../config/schema.js'
import type { BindingStore, StoredBinding } from '../ports/binding-store.js'
import type { Database } from './db.js'
import { bindings } from './schema.js'

const stored = { doc: bindings.doc, updatedAt: bindings.updatedAt, updatedBy: bindings.updatedBy }

const toStored = (r: { doc: unknown; updatedAt: Date; updatedBy: string }): StoredBinding => ({
  binding: Binding.parse(r.doc),
  updatedAt: r.updatedAt,
  updatedBy: r.updatedBy,
})

/** Bindings in PostgreSQL (or PGlite): one row per region subtree, the document as validated. */
export class PgBindingStore implements BindingStore {
  constructor(private readonly database: Database) {}

  async list(): Promise<StoredBinding[]> {
    const rows = await this.database.db.select(stored).from(bindings).orderBy(asc(bindings.region))
    return rows.map(toStored)
  }

  async get(region: string): Promise<StoredBinding | null> {
    const [row] = await this.database.db.select(stored).from(bindings).where(eq(bindings.region, region))
    return row ? toStored(row) : null
  }

  async put(binding: Binding, actor: string): Promise<StoredBinding> {
    const doc = Binding.parse(binding)
    const [row] = await this.database.db
      .insert(bindings)
      .values({ region: doc.region, adapter: doc.adapter, doc, updatedAt: sql`now()`, updatedBy: actor })
      .onConflictDoUpdate({
        target: bindings.region,
        set: {
          adapter: sql`excluded.adapter`,
          doc: sql`excluded.doc`,
          updatedAt: sql`now()`,
          updatedBy: sql`excluded.updated_by`,
        },
      })
      .returning(stored)
    if (!row) throw new Error(`binding ${doc.region} was neither inserted nor updated`)
    return toStored(row)
  }

  async remove(region: string): Promise<boolean> {
    const rows = await this.database.db
      .delete(bindings)
      .where(eq(bindings.region, region))
      .returning({ region: bindings.region })
    return rows.length > 0
  }

  async seed(list: Binding[], actor: string): Promise<number> {
    let inserted = 0
    for (const b of list) {
      const doc = Binding.parse(b)
      const rows = await this.database.db
        .insert(bindings)
        .values({ region: doc.region, adapter: doc.adapter, doc, updatedBy: actor })
        .onConflictDoNothing({ target: bindings.region })
        .returning({ region: bindings.region })
      inserted += rows.length
    }
    return inserted
  }
}
