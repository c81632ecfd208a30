import { isDeepStrictEqual } from 'node:util'
import { and, asc, desc, eq, inArray, type SQL, sql } from 'drizzle-orm'
import type { PgColumn } from 'drizzle-orm/pg-core'
import type { z } from 'zod'
import {
  Agreement,
  AgreementStatus,
  CalendarFile,
  type Directory,
  Item,
  type Region,
  Thing,
} from '../../config/schema.js'
import { AppError } from '../errors.js'
import type { DirectoryStore, SeedReport, StoredAgreement } from '../ports/directory-store.js'
import type { Db } from './db.js'
import { agreements, calendars, items, regions, things } from './schema.js'

/** Rows per INSERT: far below PostgreSQL's 65 535 bind parameters even for the 8 region columns. */
const BATCH = 500
/** First key of the per-agreement advisory lock ('agre' in ASCII); the second is hashtext(id). */
const AGREEMENT_LOCK_CLASS = 0x61677265

type AgreementRow = typeof agreements.$inferSelect

/**
 * The directory in PostgreSQL (or PGlite): regions as columns, items, things and calendars as jsonb
 * documents, agreements as one immutable row per version. Documents are validated with the schemas of
 * `config/schema.ts` on the way in and again on the way out.
 *
 * Pass a transaction's `db` to take part in a caller's transaction. On PGlite, never call a store built
 * on the outer `db` from inside a transaction: it would wait for the single connection forever.
 */
export class PgDirectoryStore implements DirectoryStore {
  private readonly db: Db

  constructor(db: Db) {
    this.db = db
  }

  /**
   * Upserts regions, items, things and calendars (rows already equal are left untouched), inserts
   * agreement versions not yet stored, and reports stored versions whose document differs from the
   * file's, ignoring `status` (an admin may have changed it since). All in one transaction.
   * The counts of regions, items, things and calendars are those of the directory.
   */
  async seed(directory: Directory, actor = 'config-seed'): Promise<SeedReport> {
    const input = {
      regions: unique(directory.regions, (r) => r.code, 'region'),
      items: unique(directory.items, (i) => i.code, 'item').map((i) => parseIn(Item, i, `item ${i.code}`)),
      things: unique(directory.things, (t) => t.id, 'thing').map((t) => parseIn(Thing, t, `thing ${t.id}`)),
      calendars: unique(directory.calendars, (c) => String(c.year), 'calendar').map((c) =>
        parseIn(CalendarFile, c, `calendar ${c.year}`),
      ),
      agreements: unique(directory.agreements, (a) => `${a.id}@${a.version}`, 'agreement version').map((a) =>
        parseIn(Agreement, a, `agreement ${a.id}@${a.version}`),
      ),
    }
    return this.db.transaction(async (tx) => {
      for (const batch of chunks(input.regions)) {
        await tx
          .insert(regions)
          .values(batch.map(regionRow))
          .onConflictDoUpdate({
            target: regions.code,
            set: {
              name: excluded(regions.name),
              level: excluded(regions.level),
              parent: excluded(regions.parent),
              province: excluded(regions.province),
              status: excluded(regions.status),
              successors: excluded(regions.successors),
              tags: excluded(regions.tags),
            },
            setWhere: sql`(${regions.name}, ${regions.level}, ${regions.parent}, ${regions.province}, ${regions.status}, ${regions.successors}, ${regions.tags})
              is distinct from (excluded.name, excluded.level, excluded.parent, excluded.province, excluded.status, excluded.successors, excluded.tags)`,
          })
      }
      for (const batch of chunks(input.items)) {
        await tx
          .insert(items)
          .values(batch.map((doc) => ({ code: doc.code, doc })))
          .onConflictDoUpdate({
            target: items.code,
            set: { doc: excluded(items.doc), updatedAt: sql`now()` },
            setWhere: sql`${items.doc} is distinct from excluded.doc`,
          })
      }
      for (const batch of chunks(input.things)) {
        await tx
          .insert(things)
          .values(batch.map((doc) => ({ id: doc.id, doc })))
          .onConflictDoUpdate({
            target: things.id,
            set: { doc: excluded(things.doc), updatedAt: sql`now()` },
            setWhere: sql`${things.doc} is distinct from excluded.doc`,
          })
      }
      for (const batch of chunks(input.calendars)) {
        await tx
          .insert(calendars)
          .values(batch.map((doc) => ({ year: doc.year, doc })))
          .onConflictDoUpdate({
            target: calendars.year,
            set: { doc: excluded(calendars.doc) },
            setWhere: sql`${calendars.doc} is distinct from excluded.doc`,
          })
      }

      const inserted = new Set<string>()
      for (const batch of chunks(input.agreements)) {
        const rows = await tx
          .insert(agreements)
          .values(batch.map((doc) => ({ id: doc.id, version: doc.version, status: doc.status, doc, createdBy: actor })))
          .onConflictDoNothing()
          .returning({ id: agreements.id, version: agreements.version })
        for (const r of rows) inserted.add(`${r.id}@${r.version}`)
      }
      const existing = input.agreements.filter((a) => !inserted.has(`${a.id}@${a.version}`))
      const conflicts: string[] = []
      if (existing.length > 0) {
        const ids = [...new Set(existing.map((a) => a.id))]
        const stored = new Map<string, unknown>()
        for (const batch of chunks(ids)) {
          const rows = await tx
            .select({ id: agreements.id, version: agreements.version, doc: agreements.doc })
            .from(agreements)
            .where(inArray(agreements.id, batch))
          for (const r of rows) stored.set(`${r.id}@${r.version}`, r.doc)
        }
        for (const a of existing) {
          const key = `${a.id}@${a.version}`
          if (!sameExceptStatus(stored.get(key), a)) conflicts.push(key)
        }
      }
      return {
        regions: input.regions.length,
        items: input.items.length,
        things: input.things.length,
        calendars: input.calendars.length,
        agreementsInserted: inserted.size,
        agreementsUnchanged: existing.length - conflicts.length,
        agreementConflicts: conflicts.sort(),
      }
    })
  }

  /** The whole directory from one consistent snapshot, with the version in force of each agreement. */
  load(): Promise<Directory> {
    return this.db.transaction(
      async (tx) => {
        const store = new PgDirectoryStore(tx)
        const regionList = await store.listRegions()
        const itemList = await store.listItems()
        const thingList = await store.listThings()
        const agreementList = await store.listAgreementsInForce()
        const calendarList = await store.listCalendars()
        return {
          regions: regionList,
          items: itemList,
          things: thingList,
          agreements: agreementList.map((a) => a.agreement),
          calendars: calendarList,
        }
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    )
  }

  async listRegions(): Promise<Region[]> {
    return this.db.select().from(regions).orderBy(asc(regions.code))
  }

  async listItems(): Promise<Item[]> {
    const rows = await this.db.select({ code: items.code, doc: items.doc }).from(items).orderBy(asc(items.code))
    return rows.map((r) => parseOut(Item, r.doc, `item ${r.code}`))
  }

  async listThings(): Promise<Thing[]> {
    const rows = await this.db.select({ id: things.id, doc: things.doc }).from(things).orderBy(asc(things.id))
    return rows.map((r) => parseOut(Thing, r.doc, `thing ${r.id}`))
  }

  async listCalendars(): Promise<CalendarFile[]> {
    const rows = await this.db.select().from(calendars).orderBy(asc(calendars.year))
    return rows.map((r) => parseOut(CalendarFile, r.doc, `calendar ${r.year}`))
  }

  async listAgreements(): Promise<StoredAgreement[]> {
    const rows = await this.db
      .selectDistinctOn([agreements.id])
      .from(agreements)
      .orderBy(asc(agreements.id), desc(agreements.version))
    return rows.map(toStored)
  }

  /**
   * The version of each agreement that routes new cases: the highest-numbered `active` one; else the latest
   * that is not a `draft` (so a suspended or retired agreement refuses as inactive); else the latest draft.
   * A draft being edited therefore never replaces the version in force until an admin activates it.
   */
  async listAgreementsInForce(): Promise<StoredAgreement[]> {
    const rows = await this.db
      .selectDistinctOn([agreements.id])
      .from(agreements)
      .orderBy(
        asc(agreements.id),
        sql`(${agreements.status} = 'active') desc`,
        sql`(${agreements.status} = 'draft') asc`,
        desc(agreements.version),
      )
    return rows.map(toStored)
  }

  async getAgreement(id: string, version?: number): Promise<StoredAgreement | null> {
    const [row] = await this.db
      .select()
      .from(agreements)
      .where(
        version === undefined ? eq(agreements.id, id) : and(eq(agreements.id, id), eq(agreements.version, version)),
      )
      .orderBy(desc(agreements.version))
      .limit(1)
    return row === undefined ? null : toStored(row)
  }

  async listAgreementVersions(id: string): Promise<StoredAgreement[]> {
    const rows = await this.db.select().from(agreements).where(eq(agreements.id, id)).orderBy(asc(agreements.version))
    return rows.map(toStored)
  }

  /**
   * Stores `agreement` as version latest+1 (1 for a new id). A per-id advisory lock serialises
   * concurrent edits, so each gets its own number; the primary key would refuse a duplicate anyway.
   */
  addAgreementVersion(agreement: Agreement, actor: string): Promise<StoredAgreement> {
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${AGREEMENT_LOCK_CLASS}, hashtext(${agreement.id}))`)
      // Read after the lock: under READ COMMITTED this statement sees the versions committed meanwhile.
      const [latest] = await tx
        .select({ version: sql<number | null>`max(${agreements.version})` })
        .from(agreements)
        .where(eq(agreements.id, agreement.id))
      const version = (latest?.version ?? 0) + 1
      const doc = parseIn(Agreement, { ...agreement, version }, `agreement ${agreement.id}@${version}`)
      const [row] = await tx
        .insert(agreements)
        .values({ id: doc.id, version, status: doc.status, doc, createdBy: actor })
        .returning()
      return toStored(row!)
    })
  }

  /**
   * Sets the status column and the document's `status` together. Who changed it is not stored here
   * (the table has no column for it): the caller's audit log records the actor.
   * @throws AppError `not_found` for an unknown id or version.
   */
  async setAgreementStatus(
    id: string,
    version: number,
    status: AgreementStatus,
    _actor: string,
  ): Promise<StoredAgreement> {
    const next = parseIn(AgreementStatus, status, 'agreement status')
    const [row] = await this.db
      .update(agreements)
      .set({ status: next, doc: sql`jsonb_set(${agreements.doc}, '{status}', to_jsonb(${next}::text))` })
      .where(and(eq(agreements.id, id), eq(agreements.version, version)))
      .returning()
    if (row === undefined) {
      throw new AppError('not_found', `Agreement ${id} has no version ${version}`, { context: { id, version } })
    }
    return toStored(row)
  }
}

function regionRow(r: Region): typeof regions.$inferInsert {
  return {
    code: r.code,
    name: r.name,
    level: r.level,
    parent: r.parent,
    province: r.province,
    status: r.status,
    successors: r.successors,
    tags: r.tags,
  }
}

function toStored(row: AgreementRow): StoredAgreement {
  // The columns are authoritative for version and status.
  const doc = { ...(row.doc as object), version: row.version, status: row.status }
  return {
    agreement: parseOut(Agreement, doc, `agreement ${row.id}@${row.version}`),
    createdAt: row.createdAt,
    createdBy: row.createdBy,
  }
}

/** Compares as jsonb would store them: undefined members dropped, key order irrelevant. */
function sameExceptStatus(stored: unknown, file: Agreement): boolean {
  if (stored === null || typeof stored !== 'object') return false
  const { status: _s, ...storedRest } = stored as Record<string, unknown>
  const { status: _f, ...fileRest } = JSON.parse(JSON.stringify(file)) as Record<string, unknown>
  return isDeepStrictEqual(storedRest, fileRest)
}

function excluded(column: PgColumn): SQL {
  return sql.raw(`excluded."${column.name}"`)
}

function* chunks<T>(list: readonly T[]): Generator<T[]> {
  for (let i = 0; i < list.length; i += BATCH) yield list.slice(i, i + BATCH)
}

function unique<T>(list: readonly T[], key: (t: T) => string, what: string): T[] {
  const seen = new Set<string>()
  for (const t of list) {
    const k = key(t)
    if (seen.has(k))
      throw new AppError('validation_failed', `The directory lists ${what} ${k} twice`, {
        context: { kind: what, key: k },
      })
    seen.add(k)
  }
  return [...list]
}

function parseIn<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  throw new AppError('validation_failed', `Invalid ${what}`, {
    cause: result.error,
    context: { what },
    errors: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  })
}

function parseOut<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  throw new AppError('internal', `Stored ${what} does not match its schema`, { cause: result.error, context: { what } })
}
