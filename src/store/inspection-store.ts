import { sql } from 'drizzle-orm'
import type { Inspection, InspectionStore, InspectionTx } from '../ports/inspection-store.js'
import { type EventWriting, PgCaseTx } from './case-store.js'
import { type Database, type Db, queryRows } from './db.js'

interface Row extends Record<string, unknown> {
  id: string
  parent_id: string
  children: string[]
  date: string | Date
  place: string
  status: 'scheduled' | 'completed'
  created_by: string
  created_at: string | Date
  completed_by: string | null
  completed_at: string | Date | null
}

const COLUMNS = sql.raw(
  `id, parent_id, children, to_char(date, 'YYYY-MM-DD') as date, place, status, created_by, created_at, completed_by, completed_at`,
)

const toInspection = (r: Row): Inspection => ({
  id: r.id,
  parentId: r.parent_id,
  children: r.children,
  date: String(r.date),
  place: r.place,
  status: r.status,
  createdBy: r.created_by,
  createdAt: new Date(r.created_at),
  completedBy: r.completed_by,
  completedAt: r.completed_at === null ? null : new Date(r.completed_at),
})

/** Joint inspections; their transactions share the case operations (`PgCaseTx`) of the same connection. */
export class PgInspectionStore implements InspectionStore {
  /** `prover` signs the events the inspection appends, as the case store's does. */
  constructor(
    private readonly database: Database,
    private readonly opts: EventWriting = {},
  ) {}

  transaction<T>(fn: (tx: InspectionTx) => Promise<T>): Promise<T> {
    return this.database.transaction((tx) => fn(inspectionTx(tx.db, this.opts)))
  }

  async get(id: string): Promise<Inspection | null> {
    const [row] = await queryRows<Row>(this.database.db, sql`select ${COLUMNS} from inspections where id = ${id}`)
    return row ? toInspection(row) : null
  }

  async ofParent(parentId: string): Promise<Inspection[]> {
    const rows = await queryRows<Row>(
      this.database.db,
      sql`select ${COLUMNS} from inspections where parent_id = ${parentId} order by created_at, id`,
    )
    return rows.map(toInspection)
  }
}

function inspectionTx(db: Db, writing: EventWriting): InspectionTx {
  return {
    cases: new PgCaseTx(db, writing),
    async insert(i) {
      await db.execute(
        sql`insert into inspections (id, parent_id, children, date, place, status, created_by, created_at)
            values (${i.id}, ${i.parentId}, array(select jsonb_array_elements_text(${JSON.stringify(i.children)}::jsonb)), ${i.date}::date, ${i.place}, ${i.status},
                    ${i.createdBy}, ${i.createdAt.toISOString()}::timestamptz)`,
      )
    },
    async lock(id) {
      const [row] = await queryRows<Row>(db, sql`select ${COLUMNS} from inspections where id = ${id} for update`)
      return row ? toInspection(row) : null
    },
    async complete(id, by, at) {
      await db.execute(
        sql`update inspections set status = 'completed', completed_by = ${by}, completed_at = ${at.toISOString()}::timestamptz
            where id = ${id}`,
      )
    },
  }
}
