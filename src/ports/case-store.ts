import type { Binding, Mode, Scope, TimeLimit } from '../../config/schema.js'
import type { DeadlineClock } from '../domain/deadline.js'
import type { HashAlg } from '../domain/hash-chain.js'
import type { CaseStatus, EventType } from '../domain/lifecycle.js'

/** The applicant as stored: the identity number only encrypted, with a keyed hash for look-ups. */
export interface StoredApplicant {
  kind: 'person' | 'organization'
  name: string
  idType: string
  /** The sealed identity number (security/pii.ts: its header names the cipher and the key). */
  idNumberEnc: Buffer
  /** HMAC (SHA-256, or SM3 beside SM4) of `idType:idNumber` under the gateway's lookup key. */
  idNumberHmac: Buffer
  /** First 6 and last 4 characters visible. */
  idNumberMasked: string
  /** The sealed phone number, sealed like the identity number. */
  phoneEnc: Buffer | null
  /** The first 3 and last 4 characters visible (`maskPhone`). */
  phoneMasked: string | null
}

export interface CaseRecord {
  id: string
  externalRef: string | null
  parentId: string | null
  /** Who submitted it: a client id or a person token id. */
  createdBy: string
  createdByKind: 'client' | 'person'
  item: string | null
  thing: string | null
  mode: Mode
  scope: Scope
  originRegion: string
  processingRegion: string | null
  agreement: { id: string; version: number } | null
  status: CaseStatus
  outcome: 'approved' | 'denied' | null
  /** A `suspended` event stopped the deadline clock and no `resumed` has restarted it yet. */
  suspended: boolean
  /** The origin has rated the case (one rating per case). */
  rated: boolean
  applicant: StoredApplicant
  agent: { window: string; operator: string } | null
  form: Record<string, unknown>
  materials: Record<string, unknown>[]
  delivery: Record<string, unknown> | null
  timeLimit: TimeLimit | null
  dueDate: string | null
  dueAt: Date | null
  /** base64url SHA-256 of the request body as received (the receipt's `req`). */
  bodyHash: string
  /** The submitter's assertion (compact JWS) when a system client submitted it. */
  assertion: string | null
  /** The gateway's receipt JWS. */
  receipt: string
  /**
   * The short number for people (`420303-20261206-0001`: origin region, CST day, sequence; a child: its
   * parent's and `-k`); null for a case stored before numbers existed and not numbered since.
   */
  number?: string | null
  /** The processing side's reference once delivered (its case id, or a transfer slip number). */
  remoteRef: string | null
  /**
   * The delivery route: the binding the case was delivered through, as it was then. Its later events
   * follow it (services/dispatch/forward.ts); null before delivery and for cases delivered before 0032.
   */
  dispatchRoute: Binding | null
  /** 容缺受理: codes of materials accepted as outstanding and not yet supplied. */
  outstandingMaterials: string[]
  /** The date (CST) by which the outstanding materials are due; null when none are outstanding. */
  supplyBy: string | null
  lastSeq: number
  createdAt: Date
  updatedAt: Date
}

export type NewCase = Omit<
  CaseRecord,
  'lastSeq' | 'updatedAt' | 'remoteRef' | 'dispatchRoute' | 'outstandingMaterials' | 'supplyBy'
>

export interface CaseEvent {
  caseId: string
  seq: number
  type: EventType
  at: Date
  /** Who posted it: `client:<id>`, `person:<token id>` or `gateway`. */
  actor: string
  data: Record<string, unknown>
  /** The previous event's hash (64 zeros for the first). */
  prevHash: string
  /** Hex digest of this event under `hashAlg` (domain/hash-chain.ts). */
  hash: string
  /** The digest this link was made with: the deployment's `HASH_ALG` when it was appended. */
  hashAlg: HashAlg
  /** Who vouches for the event (docs/trust.md); absent or all null for events written before proofs. */
  proof?: EventProof
}

/**
 * What proves an event was appended through the gateway, beside the hash chain (which anyone holding the
 * database can recompute). Kept outside the hash: the gateway's proof signs the hash itself.
 */
export interface EventProof {
  /** The gateway's compact JWS (`typ: tongban-event+jwt`) over `{ iss, sub: caseId, seq, hash, iat }`. */
  gateway: string | null
  /** The system client's request assertion (PROTOCOL §2) that carried the event; null for people and the gateway. */
  assertion: string | null
  /** The raw request body that assertion binds through `bsh`; null at intake (the body holds the identity number). */
  body: string | null
}

/** The signed request behind an event a system client posted: kept with the event as its proof. */
export interface RequestProof {
  assertion: string
  /** The raw body as received, or null when it must not be stored (intake). */
  body: string | null
}

export interface NewEvent {
  type: EventType
  at: Date
  actor: string
  data: Record<string, unknown>
  /** The client request that carried it, kept as part of the event's proof. */
  request?: RequestProof | undefined
}

/**
 * Signs each appended event's hash with the gateway's own key (security/event-proofs.ts). A store without
 * one writes events without the gateway's proof (tests of the store alone).
 */
export interface EventProver {
  prove(e: { caseId: string; seq: number; hash: string; at: Date }): Promise<string>
}

export interface CaseFilter {
  /** Region codes the caller acts for (expanded to descendants); null for an admin (all cases). */
  visibleRegions: string[] | null
  /** With `visibleRegions`: of the cases those regions originated, only those this window collected. */
  originWindow?: string | null | undefined
  /**
   * A department-limited caller's item codes (PROTOCOL 1.1 §2): only cases of those items, and parents with a
   * child of one. Null or absent: no such limit.
   */
  items?: string[] | null | undefined
  status?: CaseStatus | undefined
  scope?: Scope | undefined
  mode?: Mode | undefined
  item?: string | undefined
  /** Cases whose origin or processing region is this code. */
  region?: string | undefined
  /** Cases accepted at this window (`agent.window`). */
  window?: string | undefined
  updatedSince?: Date | undefined
  /** Only cases still open (neither completed nor final) whose due instant is before this one. */
  dueBefore?: Date | undefined
  /** Only top-level cases (no children), default false. */
  topLevelOnly?: boolean | undefined
  /** The case with this number (`CaseRecord.number`), exactly. */
  number?: string | undefined
  /** Cases whose applicant's name contains this text (case-insensitive, no wildcards). */
  applicantName?: string | undefined
  /** Cases whose applicant's identity lookup hash (the blind index, `applicant_id_hmac`) is one of these. */
  applicantIdHmacs?: Buffer[] | undefined
  /** Opaque cursor from the previous page. */
  cursor?: string | undefined
  limit: number
}

export interface IdempotencyRecord {
  callerId: string
  key: string
  /** base64url SHA-256 of the body of the first request. */
  bodyHash: string
  status: number
  headers: Record<string, string>
  body: unknown
  createdAt: Date
}

/** An event to append under the case's row lock, decided there (`CaseStore.appendLocked`). */
export interface LockedAppend {
  caseId: string
  /**
   * Called under the case's row lock with the case and its deadline clock as stored: what to write, or null
   * to leave the case to `transaction` (a family's case, a clock that moves). It must not do I/O; it may be
   * called again if the group's statement fails and the case is written on its own.
   */
  plan(current: CaseRecord, clock: DeadlineClock): LockedAppendPlan | null
}

export interface LockedAppendPlan {
  event: NewEvent
  /** The case's state after the event (written whole; the row is locked). */
  set: Pick<CaseRecord, 'status' | 'suspended' | 'rated' | 'remoteRef' | 'dispatchRoute'>
  /** The outbox rows committed with it, given the event as chained (its `seq` names its `case.event` row). */
  outbox(event: CaseEvent): { topic: string; key: string; payload: Record<string, unknown> }[]
}

/** What a transaction on cases may do. Everything it writes commits or rolls back together. */
export interface CaseTx {
  /**
   * Takes the transaction-scoped lock of (caller, key) without waiting; false when another
   * transaction holds it (the first request with this key is still in flight).
   */
  tryLockIdempotencyKey(callerId: string, key: string): Promise<boolean>
  /** The stored answer for (caller, key) if it was created after `notBefore`; else null. */
  getIdempotency(callerId: string, key: string, notBefore: Date): Promise<IdempotencyRecord | null>
  /** Stores (or replaces an expired) answer for (caller, key). */
  saveIdempotency(record: IdempotencyRecord): Promise<void>
  insertCase(c: NewCase): Promise<void>
  /** The case, locked FOR UPDATE until the transaction ends; null when unknown. */
  lockCase(id: string): Promise<CaseRecord | null>
  /** The case's parent id (a plain read: parent_id never changes); null for a top-level or unknown case. */
  parentOf(id: string): Promise<string | null>
  /**
   * A parent's children, locked FOR UPDATE in id order. Lock order across a family is always the parent
   * first, then children by id, so that two transactions on one family never wait on each other in a cycle.
   */
  lockChildren(parentId: string): Promise<CaseRecord[]>
  updateCase(
    id: string,
    patch: Partial<
      Pick<
        CaseRecord,
        | 'status'
        | 'outcome'
        | 'suspended'
        | 'rated'
        | 'dueDate'
        | 'dueAt'
        | 'receipt'
        | 'remoteRef'
        | 'dispatchRoute'
        | 'outstandingMaterials'
        | 'supplyBy'
        | 'materials'
      >
    >,
    at: Date,
  ): Promise<void>
  /**
   * Appends the next event of the case's hash chain: seq = last + 1, prevHash = the last event's hash,
   * hash over the canonical event (domain/hash-chain.ts). The caller must hold the case lock (or have
   * inserted the case in this transaction). Updates the case's `lastSeq` and `updatedAt`.
   */
  appendEvent(caseId: string, event: NewEvent): Promise<CaseEvent>
  /** Adds an outbox row; the relay moves it to the queue after commit. */
  addOutbox(topic: string, key: string, payload: Record<string, unknown>): Promise<void>
  /** The case's deadline clock and evaluation facts (domain/deadline.ts); call with the case lock held. */
  loadClock(caseId: string): Promise<DeadlineClock>
  /** Stores the clock as `loadClock` returned it, changed. */
  saveClock(caseId: string, clock: DeadlineClock): Promise<void>
}

/** Everything one submission writes, computed before it reaches the database. */
export interface IntakeWrite {
  callerId: string
  key: string
  bodyHash: string
  /** Idempotency answers older than this are expired (replaced, not replayed). */
  notBefore: Date
  /** The case(s): a parent first, then its children. */
  cases: NewCase[]
  /** The first event of each case (seq 1, prevHash GENESIS_HASH, hash computed). */
  events: CaseEvent[]
  outbox: { topic: string; key: string; payload: Record<string, unknown> }[]
  /** The answer stored for replays. */
  answer: { status: number; headers: Record<string, string>; body: unknown }
  createdAt: Date
  /**
   * A system client's assertion jti, recorded in the same statement (PROTOCOL §2, kept until `expiresAt`):
   * when it was used before, nothing is written and the result is `jti_used`.
   */
  jti?: { clientId: string; jti: string; expiresAt: Date } | undefined
}

export type IntakeResult =
  | { kind: 'created' }
  /** Another request with this (caller, key) holds the key right now. */
  | { kind: 'in_flight' }
  /** An answer is stored for this (caller, key): replay it if the body hash matches. */
  | { kind: 'previous'; record: IdempotencyRecord }
  /** The write's `jti` was recorded before: a replayed assertion, refused; nothing was written. */
  | { kind: 'jti_used' }

export interface CaseStore {
  /** The digest new events are chained with (`HASH_ALG`); stored with each event. */
  readonly hashAlg: HashAlg
  /**
   * A submission in one statement (one round trip, one implicit transaction): takes the
   * (caller, key) lock without waiting, claims the key unless an unexpired answer exists, and only
   * then inserts the cases, their first events, the outbox rows and the answer. Intake is the hot path;
   * the general `transaction` would take a dozen round trips for the same work. Submissions made at the
   * same time may share one statement (group commit); each is still claimed, written and answered on its own.
   */
  submitIntake(write: IntakeWrite): Promise<IntakeResult>
  /**
   * The case a system client's `externalRef` names (PROTOCOL 1.1 §4): the top-level case that `clientId`
   * submitted with it (unique for ever; of rows that were duplicates before the rule, the oldest); null when
   * none. Operators' references are not looked up: they name nothing.
   */
  findByExternalRef(clientId: string, externalRef: string): Promise<CaseRecord | null>
  /**
   * Records a system client's assertion jti until `expiresAt` (outside intake's statement: a submission
   * answered without one, say from the case its externalRef names); false when it was recorded before.
   */
  claimJti(clientId: string, jti: string, expiresAt: Date): Promise<boolean>
  /** Deletes (at most `limit`) jtis that expired before `before`; returns how many. */
  pruneJtis(before: Date, limit: number): Promise<number>
  /** The stored answer for (caller, key) created at or after `notBefore`; null when none. */
  findIdempotency(callerId: string, key: string, notBefore: Date): Promise<IdempotencyRecord | null>
  /**
   * Deletes (at most `limit`) idempotency answers created before `before`, oldest first; with `dryRun`,
   * only counts them. Returns how many.
   */
  pruneIdempotency(before: Date, limit: number, dryRun?: boolean): Promise<number>
  transaction<T>(fn: (tx: CaseTx) => Promise<T>): Promise<T>
  /**
   * One event on one case in a transaction of its own, for the hot path of the gateway's own events (a
   * delivery's `dispatched`): the case is locked, `plan` decides under the lock what to write, and the chain
   * link, the case's new state and the outbox rows commit together. Calls made at the same time share one
   * transaction of two statements (group commit); each is planned, refused and answered on its own, and a
   * refusal or a failure of one never fails the others. Only a top-level case is appended here (a family's
   * cases are locked parent first, in `transaction`). Resolves to the stored event, or null when nothing was
   * written: the case is unknown or in a family, or `plan` left it to `transaction`.
   * @throws whatever `plan` throws, for this call alone; a database error.
   * @example const event = await store.appendLocked({ caseId, plan: (c, clock) => planFor(c, clock) })
   */
  appendLocked(write: LockedAppend): Promise<CaseEvent | null>
  get(id: string): Promise<CaseRecord | null>
  children(parentId: string): Promise<CaseRecord[]>
  list(filter: CaseFilter): Promise<{ cases: CaseRecord[]; nextCursor: string | null }>
  /** How many cases `filter` matches over all pages (its cursor and limit ignored). */
  count(filter: CaseFilter): Promise<number>
  /**
   * The next sequence number of the cases `originRegion` submitted on `day` (YYYY-MM-DD, CST), allocated
   * atomically (one statement): 1 for the day's first. A number taken by a submission that is then not written
   * is not given again. Calls for one region and day that arrive while a statement is in flight share the next
   * (store/case-numbers.ts), so that submissions do not queue on the counter's row one commit at a time.
   */
  allocateNumber(originRegion: string, day: string): Promise<number>
  events(caseId: string): Promise<CaseEvent[]>
  /** The deadline clock of a case as stored, without a lock (for reading; `CaseTx.loadClock` to change it). */
  clock(caseId: string): Promise<DeadlineClock>
  /** Case ids in creation order, for `audit verify` over everything (paged by `after`). */
  caseIds(after: string | null, limit: number): Promise<string[]>
  /**
   * Delivered-to-nobody candidates: cases still `submitted` (with a processing region) whose last change is
   * older than `before`, oldest first, with the dead letter their last re-drive named (if any).
   */
  staleSubmitted(before: Date, limit: number): Promise<{ id: string; redriveOf: number | null }[]>
  /** Delivered cases not yet final whose processing region is one of `regions` (null: any), oldest first. */
  openDelivered(regions: string[] | null, limit: number): Promise<{ id: string; remoteRef: string }[]>
}

/** A row of the transactional outbox. */
export interface OutboxRow {
  id: number
  topic: string
  key: string
  payload: Record<string, unknown>
  createdAt: Date
}

export interface OutboxStore {
  /**
   * In one transaction: claims up to `limit` oldest rows (FOR UPDATE SKIP LOCKED, so several relays
   * never take the same row), runs `publish` with them, and deletes the rows only if it resolves.
   * Returns the number of rows published.
   */
  drain(limit: number, publish: (rows: OutboxRow[]) => Promise<void>): Promise<number>
  /** Rows waiting, for metrics and tests. */
  pending(): Promise<number>
}
