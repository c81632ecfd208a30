import { and, asc, desc, eq, gt, gte, ilike, inArray, isNull, lt, notInArray, or, type SQL, sql } from 'drizzle-orm'
import type { DeadlineClock } from '../domain/deadline.js'
import { GENESIS_HASH, type HashAlg } from '../domain/hash-chain.js'
import { finalStatuses } from '../domain/lifecycle.js'
import { AppError } from '../errors.js'
import type {
  CaseEvent,
  CaseFilter,
  CaseRecord,
  CaseStore,
  CaseTx,
  EventProver,
  IdempotencyRecord,
  IntakeResult,
  IntakeWrite,
  LockedAppend,
  NewCase,
  NewEvent,
} from '../ports/case-store.js'
import { CaseNumbers } from './case-numbers.js'
import { caseRow, toCase } from './case-row.js'
import { chainLink } from './chain-link.js'
import { loadClock, saveClock } from './clock-sql.js'
import { type Database, type Db, queryRows } from './db.js'
import { EventBatcher } from './event-batch.js'
import { IDEMPOTENCY_LOCK_CLASS } from './intake.js'
import { IntakeBatcher } from './intake-batch.js'
import { caseEvents, cases, idempotencyKeys, outbox } from './schema.js'

type EventRow = typeof caseEvents.$inferSelect
type CasePatch = Parameters<CaseTx['updateCase']>[1]

/**
 * Cases, their hash-chained timelines, idempotency answers and the outbox in PostgreSQL (or PGlite).
 * Writes go through `transaction`, which runs on `Database.transaction` so that it also works on
 * PGlite's single connection; reads use `database.db` and must not be called from inside a transaction
 * on PGlite (they would wait for the connection forever).
 *
 * @example
 * const store = new PgCaseStore(database)
 * await store.transaction(async (tx) => {
 *   await tx.insertCase(newCase)
 *   await tx.appendEvent(newCase.id, { type: 'submitted', at: now, actor: 'client:zw', data: {} })
 *   await tx.addOutbox('case.dispatch', newCase.id, { caseId: newCase.id })
 * })
 * relay.poke()
 */
/** How appended events are made: who signs them, and the digest of their chain links. */
export interface EventWriting {
  /** Signs every appended event's hash (the gateway's proof); without it events carry none. */
  prover?: EventProver | undefined
  /** The deployment's `HASH_ALG` (default `sha256`). */
  hashAlg?: HashAlg | undefined
}

export class PgCaseStore implements CaseStore {
  private readonly database: Database
  private readonly intake: IntakeBatcher
  private readonly appends: EventBatcher
  /** The reads of every delivery and forwarded event, built once: drizzle builds a query's SQL on each call. */
  private readonly reads: ReturnType<typeof hotReads>
  private readonly numbers = new CaseNumbers((region, day, count) => this.takeNumbers(region, day, count))
  private readonly prover: EventProver | undefined
  readonly hashAlg: HashAlg

  constructor(database: Database, opts: EventWriting = {}) {
    this.database = database
    this.intake = new IntakeBatcher(database)
    this.prover = opts.prover
    this.hashAlg = opts.hashAlg ?? 'sha256'
    this.reads = hotReads(database.db)
    this.appends = new EventBatcher(database, { prover: this.prover, hashAlg: this.hashAlg })
  }

  transaction<T>(fn: (tx: CaseTx) => Promise<T>): Promise<T> {
    return this.database.transaction((tx) => fn(new PgCaseTx(tx.db, { prover: this.prover, hashAlg: this.hashAlg })))
  }

  /** Concurrent appends are written together (group commit, `event-batch.ts`). */
  appendLocked(write: LockedAppend): Promise<CaseEvent | null> {
    return this.appends.append(write)
  }

  /** Concurrent submissions are written together (group commit, `intake-batch.ts`). */
  submitIntake(write: IntakeWrite): Promise<IntakeResult> {
    return this.intake.submit(write)
  }

  async pruneIdempotency(before: Date, limit: number, dryRun = false): Promise<number> {
    const oldest = 'select caller_id, key from idempotency_keys where created_at < $1 order by created_at limit $2'
    const [row] = await this.database.query<{ n: number }>(
      dryRun
        ? `select count(*)::int as n from (${oldest}) o`
        : `with gone as (
             delete from idempotency_keys k using (${oldest}) o
             where k.caller_id = o.caller_id and k.key = o.key and k.created_at < $1 returning 1
           ) select count(*)::int as n from gone`,
      [before.toISOString(), limit],
    )
    return row?.n ?? 0
  }

  async findIdempotency(callerId: string, key: string, notBefore: Date): Promise<IdempotencyRecord | null> {
    const [row] = await this.database.db
      .select()
      .from(idempotencyKeys)
      .where(
        and(
          eq(idempotencyKeys.callerId, callerId),
          eq(idempotencyKeys.key, key),
          gte(idempotencyKeys.createdAt, notBefore),
        ),
      )
    return row ?? null
  }

  async get(id: string): Promise<CaseRecord | null> {
    const [row] = await this.reads.caseById.execute({ id })
    return row === undefined ? null : toCase(row)
  }

  async claimJti(clientId: string, jti: string, expiresAt: Date): Promise<boolean> {
    const rows = await this.database.query(
      `insert into client_jtis (client_id, jti, expires_at) values ($1, $2, $3)
       on conflict do nothing returning 1 as claimed`,
      [clientId, jti, expiresAt.toISOString()],
      'tongban-claim-jti',
    )
    return rows.length > 0
  }

  async pruneJtis(before: Date, limit: number): Promise<number> {
    const [row] = await this.database.query<{ n: number }>(
      `with gone as (delete from client_jtis where ctid in (
         select ctid from client_jtis where expires_at < $1 limit $2) returning 1)
       select count(*)::int as n from gone`,
      [before.toISOString(), limit],
    )
    return row?.n ?? 0
  }

  async findByExternalRef(clientId: string, externalRef: string): Promise<CaseRecord | null> {
    // The references that name a case (migration 0033 keeps them unique outside the monthly partitions).
    const [row] = await this.database.query<{ id: string }>(
      'select case_id as id from case_external_refs where created_by = $1 and external_ref = $2',
      [clientId, externalRef],
      'tongban-case-by-external-ref',
    )
    return row ? this.get(row.id) : null
  }

  clock(caseId: string): Promise<DeadlineClock> {
    return loadClock(this.database.db, caseId)
  }

  async children(parentId: string): Promise<CaseRecord[]> {
    const rows = await this.database.db.select().from(cases).where(eq(cases.parentId, parentId)).orderBy(asc(cases.id))
    return rows.map(toCase)
  }

  /**
   * Newest first (ids are UUIDv7, so id order is creation order), `limit` per page. The cursor is the
   * base64url of the last id of the previous page: a case created meanwhile never shifts the pages.
   * @throws AppError `validation_failed` for a cursor this store did not issue or a limit below 1.
   */
  async list(filter: CaseFilter): Promise<{ cases: CaseRecord[]; nextCursor: string | null }> {
    if (!Number.isInteger(filter.limit) || filter.limit < 1) {
      throw new AppError('validation_failed', 'limit must be a positive integer', { context: { limit: filter.limit } })
    }
    const where = whereOf(filter)
    if (where === null) return { cases: [], nextCursor: null }
    if (filter.cursor !== undefined) where.push(lt(cases.id, decodeCursor(filter.cursor)))

    const rows = await this.database.db
      .select()
      .from(cases)
      .where(and(...where))
      .orderBy(desc(cases.id))
      .limit(filter.limit + 1)
    const page = rows.slice(0, filter.limit)
    const last = page.at(-1)
    return {
      cases: page.map(toCase),
      nextCursor: rows.length > filter.limit && last !== undefined ? encodeCursor(last.id) : null,
    }
  }

  async count(filter: CaseFilter): Promise<number> {
    const where = whereOf(filter)
    if (where === null) return 0
    const [row] = await this.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(cases)
      .where(and(...where))
    return Number(row?.n ?? 0)
  }

  allocateNumber(originRegion: string, day: string): Promise<number> {
    return this.numbers.next(originRegion, day)
  }

  private async takeNumbers(originRegion: string, day: string, count: number): Promise<number> {
    const [row] = await this.database.query<{ last: number }>(
      `insert into case_numbers (origin_region, day, last) values ($1, $2::date, $3)
       on conflict (origin_region, day) do update set last = case_numbers.last + excluded.last
       returning last`,
      [originRegion, day, count],
      'tongban-case-numbers',
    )
    if (!row) throw new Error('case number allocation returned no row')
    return Number(row.last)
  }

  async events(caseId: string): Promise<CaseEvent[]> {
    const rows = await this.reads.eventsOf.execute({ caseId })
    return rows.map(toEvent)
  }

  async caseIds(after: string | null, limit: number): Promise<string[]> {
    const rows = await this.database.db
      .select({ id: cases.id })
      .from(cases)
      .where(after === null ? undefined : gt(cases.id, after))
      .orderBy(asc(cases.id))
      .limit(limit)
    return rows.map((r) => r.id)
  }

  async staleSubmitted(before: Date, limit: number): Promise<{ id: string; redriveOf: number | null }[]> {
    const rows = await this.database.query<{ id: string; redrive_of: string | null }>(
      `select c.id,
              (select (e.data->>'deadLetter') from case_events e
                where e.case_id = c.id and e.type = 'redriven' order by e.seq desc limit 1) as redrive_of
         from cases c
        where c.status = 'submitted' and c.processing_region is not null and c.updated_at < $1
        order by c.updated_at limit $2`,
      [before.toISOString(), limit],
    )
    return rows.map((r) => ({ id: r.id, redriveOf: r.redrive_of === null ? null : Number(r.redrive_of) }))
  }

  async openDelivered(regions: string[] | null, limit: number): Promise<{ id: string; remoteRef: string }[]> {
    const rows = await this.database.query<{ id: string; remote_ref: string }>(
      `select id, remote_ref from cases
        where remote_ref is not null
          and status not in ('rejected', 'completed', 'result_delivered', 'closed', 'withdrawn', 'delivery_failed')
          and ($1::text[] is null or processing_region = any($1::text[]))
        order by updated_at limit $2`,
      [regions, limit],
    )
    return rows.map((r) => ({ id: r.id, remoteRef: r.remote_ref }))
  }
}

/** A case by id and a case's events, as prepared statements (a worker's CPU went 13 % to building them per call). */
function hotReads(db: Db) {
  return {
    caseById: db
      .select()
      .from(cases)
      .where(eq(cases.id, sql.placeholder('id')))
      .prepare('tongban-case-by-id'),
    eventsOf: db
      .select()
      .from(caseEvents)
      .where(eq(caseEvents.caseId, sql.placeholder('caseId')))
      .orderBy(asc(caseEvents.seq))
      .prepare('tongban-case-events'),
  }
}

/** The operations of one transaction; `db` is the transaction's handle (other stores join it through this). */
export class PgCaseTx implements CaseTx {
  private readonly db: Db
  private readonly prover: EventProver | undefined
  private readonly hashAlg: HashAlg

  constructor(db: Db, opts: EventWriting = {}) {
    this.db = db
    this.prover = opts.prover
    this.hashAlg = opts.hashAlg ?? 'sha256'
  }

  async tryLockIdempotencyKey(callerId: string, key: string): Promise<boolean> {
    const [row] = await queryRows<{ locked: boolean }>(
      this.db,
      sql`select pg_try_advisory_xact_lock(${IDEMPOTENCY_LOCK_CLASS}, hashtext(${callerId}::text || ':' || ${key}::text)) as locked`,
    )
    return row?.locked === true
  }

  async getIdempotency(callerId: string, key: string, notBefore: Date): Promise<IdempotencyRecord | null> {
    const [row] = await this.db
      .select()
      .from(idempotencyKeys)
      .where(
        and(
          eq(idempotencyKeys.callerId, callerId),
          eq(idempotencyKeys.key, key),
          gte(idempotencyKeys.createdAt, notBefore),
        ),
      )
    return row ?? null
  }

  async saveIdempotency(record: IdempotencyRecord): Promise<void> {
    const values = {
      callerId: record.callerId,
      key: record.key,
      bodyHash: record.bodyHash,
      status: record.status,
      headers: record.headers,
      body: record.body,
      createdAt: record.createdAt,
    }
    await this.db
      .insert(idempotencyKeys)
      .values(values)
      .onConflictDoUpdate({
        target: [idempotencyKeys.callerId, idempotencyKeys.key],
        set: {
          bodyHash: values.bodyHash,
          status: values.status,
          headers: values.headers,
          body: values.body,
          createdAt: values.createdAt,
        },
      })
  }

  async insertCase(c: NewCase): Promise<void> {
    await this.db.insert(cases).values(caseRow(c))
  }

  async lockCase(id: string): Promise<CaseRecord | null> {
    const [row] = await this.db.select().from(cases).where(eq(cases.id, id)).for('update')
    return row === undefined ? null : toCase(row)
  }

  async parentOf(id: string): Promise<string | null> {
    const [row] = await this.db.select({ parentId: cases.parentId }).from(cases).where(eq(cases.id, id))
    return row?.parentId ?? null
  }

  async lockChildren(parentId: string): Promise<CaseRecord[]> {
    const rows = await this.db
      .select()
      .from(cases)
      .where(eq(cases.parentId, parentId))
      .orderBy(asc(cases.id))
      .for('update')
    return rows.map(toCase)
  }

  async updateCase(id: string, patch: CasePatch, at: Date): Promise<void> {
    const set: Partial<typeof cases.$inferInsert> = {}
    if (patch.status !== undefined) set.status = patch.status
    if (patch.outcome !== undefined) set.outcome = patch.outcome
    if (patch.suspended !== undefined) set.suspended = patch.suspended
    if (patch.rated !== undefined) set.rated = patch.rated
    if (patch.dueDate !== undefined) set.dueDate = patch.dueDate
    if (patch.dueAt !== undefined) set.dueAt = patch.dueAt
    if (patch.receipt !== undefined) set.receipt = patch.receipt
    if (patch.remoteRef !== undefined) set.remoteRef = patch.remoteRef
    if (patch.dispatchRoute !== undefined) set.dispatchRoute = patch.dispatchRoute
    if (patch.outstandingMaterials !== undefined) set.outstandingMaterials = patch.outstandingMaterials
    if (patch.supplyBy !== undefined) set.supplyBy = patch.supplyBy
    if (patch.materials !== undefined) set.materials = patch.materials
    const rows = await this.db
      .update(cases)
      .set({ ...set, updatedAt: laterOf(at) })
      .where(eq(cases.id, id))
      .returning({ id: cases.id })
    if (rows.length === 0) throw new AppError('not_found', `No case ${id}`, { context: { caseId: id } })
  }

  async appendEvent(caseId: string, event: NewEvent): Promise<CaseEvent> {
    // Taking the row lock again is free when the caller holds it, and keeps the chain gap-free if not.
    const [head] = await this.db
      .select({ lastSeq: cases.lastSeq })
      .from(cases)
      .where(eq(cases.id, caseId))
      .for('update')
    if (head === undefined) throw new AppError('not_found', `No case ${caseId}`, { context: { caseId } })
    let prevHash = GENESIS_HASH
    if (head.lastSeq > 0) {
      const [last] = await this.db
        .select({ hash: caseEvents.hash })
        .from(caseEvents)
        .where(and(eq(caseEvents.caseId, caseId), eq(caseEvents.seq, head.lastSeq)))
      if (last === undefined) {
        throw new AppError('internal', `Case ${caseId} lost event ${head.lastSeq} of its chain`, {
          context: { caseId, seq: head.lastSeq },
        })
      }
      prevHash = last.hash
    }
    const writing = { prover: this.prover, hashAlg: this.hashAlg }
    const stored = await chainLink(caseId, head.lastSeq + 1, prevHash, event, writing)
    const { proof } = stored
    await this.db.insert(caseEvents).values({
      ...stored,
      proof: proof.gateway,
      assertion: proof.assertion,
      body: proof.body,
    })
    await this.db
      .update(cases)
      .set({ lastSeq: stored.seq, updatedAt: laterOf(stored.at) })
      .where(eq(cases.id, caseId))
    return stored
  }

  async addOutbox(topic: string, key: string, payload: Record<string, unknown>): Promise<void> {
    await this.db.insert(outbox).values({ topic, key, payload })
  }

  loadClock(caseId: string): Promise<DeadlineClock> {
    return loadClock(this.db, caseId)
  }

  saveClock(caseId: string, clock: DeadlineClock): Promise<void> {
    return saveClock(this.db, caseId, clock)
  }
}

/** `updated_at` never moves backwards, so `updatedSince` polling misses no change stamped with an earlier clock. */
function laterOf(at: Date): SQL {
  return sql`greatest(${cases.updatedAt}, ${at.toISOString()}::timestamptz)`
}

/** The conditions of a case filter (without its cursor); null when it can match nothing. */
function whereOf(filter: CaseFilter): (SQL | undefined)[] | null {
  const where: (SQL | undefined)[] = []
  if (filter.visibleRegions !== null) {
    if (filter.visibleRegions.length === 0) return null
    const origin = filter.originWindow
      ? and(inArray(cases.originRegion, filter.visibleRegions), eq(cases.agentWindow, filter.originWindow))
      : inArray(cases.originRegion, filter.visibleRegions)
    where.push(or(origin, inArray(cases.processingRegion, filter.visibleRegions)))
  }
  if (filter.items !== undefined && filter.items !== null) {
    if (filter.items.length === 0) return null
    const codes = sql.join(
      filter.items.map((i) => sql`${i}`),
      sql`, `,
    )
    where.push(
      or(
        inArray(cases.item, filter.items),
        sql`exists (select 1 from cases k where k.parent_id = ${cases.id} and k.item in (${codes}))`,
      ),
    )
  }
  if (filter.status !== undefined) where.push(eq(cases.status, filter.status))
  if (filter.scope !== undefined) where.push(eq(cases.scope, filter.scope))
  if (filter.mode !== undefined) where.push(eq(cases.mode, filter.mode))
  if (filter.item !== undefined) where.push(eq(cases.item, filter.item))
  if (filter.region !== undefined) {
    where.push(or(eq(cases.originRegion, filter.region), eq(cases.processingRegion, filter.region)))
  }
  if (filter.window !== undefined) where.push(eq(cases.agentWindow, filter.window))
  if (filter.updatedSince !== undefined) where.push(gte(cases.updatedAt, filter.updatedSince))
  if (filter.dueBefore !== undefined) {
    where.push(lt(cases.dueAt, filter.dueBefore))
    where.push(notInArray(cases.status, [...finalStatuses, 'completed']))
  }
  if (filter.topLevelOnly === true) where.push(isNull(cases.parentId))
  if (filter.number !== undefined) where.push(eq(cases.number, filter.number))
  if (filter.applicantName !== undefined) {
    // A literal substring: LIKE's wildcards and escape character in the text match themselves.
    const literal = filter.applicantName.replace(/[\\%_]/g, (ch) => `\\${ch}`)
    where.push(ilike(cases.applicantName, `%${literal}%`))
  }
  if (filter.applicantIdHmacs !== undefined) {
    if (filter.applicantIdHmacs.length === 0) return null
    where.push(inArray(cases.applicantIdHmac, filter.applicantIdHmacs))
  }
  return where
}

function toEvent(r: EventRow): CaseEvent {
  return {
    caseId: r.caseId,
    seq: r.seq,
    type: r.type,
    at: r.at,
    actor: r.actor,
    data: r.data,
    prevHash: r.prevHash,
    hash: r.hash,
    hashAlg: r.hashAlg,
    proof: { gateway: r.proof, assertion: r.assertion, body: r.body },
  }
}

function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url')
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8')
  if (id === '' || encodeCursor(id) !== cursor) {
    throw new AppError('validation_failed', 'Invalid cursor: pass the nextCursor of the previous page', {
      errors: [{ path: 'cursor', message: 'not a cursor issued by this gateway' }],
    })
  }
  return id
}
