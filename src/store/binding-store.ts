import { Binding } from '../../config/schema.js'
import type { BindingStore, StoredBinding } from '../ports/binding-store.js'
import type { Database } from './db.js'

interface Row extends Record<string, unknown> {
  region: string
  doc: unknown
  updated_at: Date | string
  updated_by: string
}

const toStored = (r: Row): StoredBinding => ({
  binding: Binding.parse(r.doc),
  updatedAt: new Date(r.updated_at),
  updatedBy: r.updated_by,
})

/** Bindings in PostgreSQL (or PGlite): one row per region subtree, the document as validated. */
export class PgBindingStore implements BindingStore {
  constructor(private readonly database: Database) {}

  async list(): Promise<StoredBinding[]> {
    const rows = await this.database.query<Row>(
      'select region, doc, updated_at, updated_by from bindings order by region',
      [],
    )
    return rows.map(toStored)
  }

  async get(region: string): Promise<StoredBinding | null> {
    const [row] = await this.database.query<Row>(
      'select region, doc, updated_at, updated_by from bindings where region = $1',
      [region],
    )
    return row ? toStored(row) : null
  }

  async put(binding: Binding, actor: string): Promise<StoredBinding> {
    const doc = Binding.parse(binding)
    const [row] = await this.database.query<Row>(
      `insert into bindings (region, adapter, doc, updated_at, updated_by) values ($1, $2, $3::jsonb, now(), $4)
       on conflict (region) do update set adapter = excluded.adapter, doc = excluded.doc, updated_at = now(),
         updated_by = excluded.updated_by
       returning region, doc, updated_at, updated_by`,
      [doc.region, doc.adapter, JSON.stringify(doc), actor],
    )
    return toStored(row as Row)
  }

  async remove(region: string): Promise<boolean> {
    const rows = await this.database.query('delete from bindings where region = $1 returning region', [region])
    return rows.length > 0
  }

  async seed(bindings: Binding[], actor: string): Promise<number> {
    let inserted = 0
    for (const b of bindings) {
      const doc = Binding.parse(b)
      const rows = await this.database.query(
        `insert into bindings (region, adapter, doc, updated_by) values ($1, $2, $3::jsonb, $4)
         on conflict (region) do nothing returning region`,
        [doc.region, doc.adapter, JSON.stringify(doc), actor],
      )
      inserted += rows.length
    }
    return inserted
  }
}
