/**
 * Drizzle table definitions of the gateway's PostgreSQL schema. They mirror the SQL of `migrations/`,
 * which is the source of truth (drizzle-kit is not used): a change here needs a new migration there.
 */
import { sql } from 'drizzle-orm'
import {
  type AnyPgColumn,
  bigint,
  bigserial,
  boolean,
  customType,
  date,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core'
import type {
  Agreement,
  AgreementStatus,
  Binding,
  CalendarFile,
  Item,
  Mode,
  RegionLevel,
  Scope,
  Thing,
  TimeLimit,
} from '../../config/schema.js'
import type { AuditActorKind, AuditOutcome, AuditVia } from '../domain/audit-trail.js'
import type { HashAlg } from '../domain/hash-chain.js'
import type { CaseStatus, EventType } from '../domain/lifecycle.js'
import type { Role } from '../ports/callers.js'
import type { ForwardDirection } from '../ports/event-forward-store.js'

export const regions = pgTable('regions', {
  code: text('code').primaryKey(),
  name: text('name').notNull(),
  level: text('level').$type<RegionLevel>().notNull(),
  parent: text('parent'),
  province: text('province').notNull(),
  status: text('status').$type<'active' | 'retired'>().notNull(),
  successors: text('successors').array().notNull().default(sql`'{}'`),
  tags: text('tags').array().notNull().default(sql`'{}'`),
})

export const items = pgTable('items', {
  code: text('code').primaryKey(),
  doc: jsonb('doc').$type<Item>().notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
})

export const things = pgTable('things', {
  id: text('id').primaryKey(),
  doc: jsonb('doc').$type<Thing>().notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
})

export const calendars = pgTable('calendars', {
  year: integer('year').primaryKey(),
  doc: jsonb('doc').$type<CalendarFile>().notNull(),
})

export const agreements = pgTable(
  'agreements',
  {
    id: text('id').notNull(),
    version: integer('version').notNull(),
    status: text('status').$type<AgreementStatus>().notNull(),
    doc: jsonb('doc').$type<Agreement>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    createdBy: text('created_by').notNull(),
  },
  (t) => [primaryKey({ columns: [t.id, t.version] }), index('agreements_id_version_idx').on(t.id, t.version.desc())],
)

export const schemaMigrations = pgTable('schema_migrations', {
  version: integer('version').primaryKey(),
  name: text('name').notNull(),
  appliedAt: timestamp('applied_at', { withTimezone: true }).notNull().defaultNow(),
})

// ---- 0002-cases

/** bytea as a Buffer on both drivers (pg answers a Buffer, PGlite a Uint8Array). */
const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array | string }>({
  dataType: () => 'bytea',
  toDriver: (value) => value,
  fromDriver: (value) => {
    if (typeof value === 'string') return Buffer.from(value.startsWith('\\x') ? value.slice(2) : value, 'hex')
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  },
})

/** `timestamptz(3)`: JavaScript dates carry milliseconds, and so does every stored timestamp. */
function ts(name: string) {
  return timestamp(name, { withTimezone: true, precision: 3 })
}

export const clients = pgTable('clients', {
  id: text('id').primaryKey(),
  name: text('name'),
  regions: text('regions').array().notNull(),
  departments: text('departments').array(),
  jwks: jsonb('jwks').$type<{ keys: Record<string, unknown>[] }>(),
  jwksUrl: text('jwks_url'),
  status: text('status').$type<'active' | 'revoked'>().notNull().default('active'),
  createdAt: ts('created_at').notNull().defaultNow(),
  revokedAt: ts('revoked_at'),
})

export const personTokens = pgTable('person_tokens', {
  id: text('id').primaryKey(),
  secretHash: bytea('secret_hash').notNull().unique(),
  role: text('role').$type<Role>().notNull(),
  region: text('region'),
  windowId: text('window_id'),
  name: text('name'),
  departments: text('departments').array(),
  createdAt: ts('created_at').notNull().defaultNow(),
  revokedAt: ts('revoked_at'),
})

export const cases = pgTable(
  'cases',
  {
    id: text('id').primaryKey(),
    externalRef: text('external_ref'),
    parentId: text('parent_id').references((): AnyPgColumn => cases.id),
    createdBy: text('created_by').notNull(),
    createdByKind: text('created_by_kind').$type<'client' | 'person'>().notNull(),
    item: text('item'),
    thing: text('thing'),
    mode: text('mode').$type<Mode>().notNull(),
    scope: text('scope').$type<Scope>().notNull(),
    originRegion: text('origin_region').notNull(),
    processingRegion: text('processing_region'),
    agreementId: text('agreement_id'),
    agreementVersion: integer('agreement_version'),
    status: text('status').$type<CaseStatus>().notNull(),
    outcome: text('outcome').$type<'approved' | 'denied'>(),
    suspended: boolean('suspended').notNull().default(false),
    rated: boolean('rated').notNull().default(false),
    applicantKind: text('applicant_kind').$type<'person' | 'organization'>().notNull(),
    applicantName: text('applicant_name').notNull(),
    applicantIdType: text('applicant_id_type').notNull(),
    applicantIdEnc: bytea('applicant_id_enc').notNull(),
    applicantIdHmac: bytea('applicant_id_hmac').notNull(),
    number: text('number'),
    applicantIdMasked: text('applicant_id_masked').notNull(),
    /** Clear phone numbers of cases stored before migration 18; sealed at start (store/seal-phones.ts). */
    applicantPhone: text('applicant_phone'),
    applicantPhoneEnc: bytea('applicant_phone_enc'),
    applicantPhoneMasked: text('applicant_phone_masked'),
    agentWindow: text('agent_window'),
    agentOperator: text('agent_operator'),
    form: jsonb('form').$type<Record<string, unknown>>().notNull(),
    materials: jsonb('materials').$type<Record<string, unknown>[]>().notNull(),
    delivery: jsonb('delivery').$type<Record<string, unknown>>(),
    timeLimit: jsonb('time_limit').$type<TimeLimit>(),
    dueDate: date('due_date', { mode: 'string' }),
    dueAt: ts('due_at'),
    bodyHash: text('body_hash').notNull(),
    assertion: text('assertion'),
    receipt: text('receipt').notNull(),
    remoteRef: text('remote_ref'),
    /** The binding the case was delivered through, as it was then (migration 0032). */
    dispatchRoute: jsonb('dispatch_route').$type<Binding>(),
    outstandingMaterials: text('outstanding_materials').array().notNull().default(sql`'{}'`),
    supplyBy: date('supply_by', { mode: 'string' }),
    /** The supply date whose passing the deadline timers last reported. */
    materialsReportedFor: date('materials_reported_for', { mode: 'string' }),
    lastSeq: integer('last_seq').notNull().default(0),
    createdAt: ts('created_at').notNull(),
    updatedAt: ts('updated_at').notNull(),
    /** A later case with an earlier case's (created_by, external_ref), kept from before the unique index. */
    externalRefDuplicate: boolean('external_ref_duplicate').notNull().default(false),
    // The deadline clock and the performance report's facts (store/clock-sql.ts, store/evaluation-store.ts).
    department: text('department'),
    acceptedAt: ts('accepted_at'),
    clockBudgetDays: doublePrecision('clock_budget_days'),
    clockUsedDays: doublePrecision('clock_used_days').notNull().default(0),
    clockRunningSince: ts('clock_running_since'),
    warnPercent: smallint('warn_percent').notNull().default(80),
    warnAt: ts('warn_at'),
    warnedAt: ts('warned_at'),
    overdueAt: ts('overdue_at'),
    completedAt: ts('completed_at'),
    rejectedAt: ts('rejected_at'),
    handlingDays: doublePrecision('handling_days'),
    onTime: boolean('on_time'),
    supplementRounds: integer('supplement_rounds').notNull().default(0),
    rating: smallint('rating'),
    ratingComment: text('rating_comment'),
    ratedAt: ts('rated_at'),
  },
  (t) => [
    index('cases_origin_region_id_idx').on(t.originRegion, t.id),
    index('cases_processing_region_id_idx').on(t.processingRegion, t.id),
    index('cases_parent_id_idx').on(t.parentId),
    index('cases_status_id_idx').on(t.status, t.id),
    index('cases_updated_at_idx').on(t.updatedAt),
    index('cases_applicant_id_hmac_idx').on(t.applicantIdHmac),
    index('cases_created_by_external_ref_idx').on(t.createdBy, t.externalRef),
  ],
)

/** Append-only: triggers refuse UPDATE, DELETE and TRUNCATE. */
export const caseEvents = pgTable(
  'case_events',
  {
    caseId: text('case_id')
      .notNull()
      .references(() => cases.id),
    seq: integer('seq').notNull(),
    type: text('type').$type<EventType>().notNull(),
    at: ts('at').notNull(),
    actor: text('actor').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
    /** The gateway's JWS over the hash, the client's assertion and the body it bound (migration 0016). */
    proof: text('proof'),
    assertion: text('assertion'),
    body: text('body'),
    /** The digest this link was made with (migration 0023). */
    hashAlg: text('hash_alg').$type<HashAlg>().notNull().default('sha256'),
  },
  (t) => [primaryKey({ columns: [t.caseId, t.seq] }), index('case_events_at_idx').on(t.at)],
)

export const outbox = pgTable('outbox', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  topic: text('topic').notNull(),
  key: text('key').notNull(),
  payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
})

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    callerId: text('caller_id').notNull(),
    key: text('key').notNull(),
    bodyHash: text('body_hash').notNull(),
    status: integer('status').notNull(),
    headers: jsonb('headers').$type<Record<string, string>>().notNull(),
    body: jsonb('body').$type<unknown>().notNull(),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.callerId, t.key] }), index('idempotency_keys_created_at_idx').on(t.createdAt)],
)

/** A case's result as it was verified: the JWS, its claims, and the recognition receipt once recognised. */
export const results = pgTable('results', {
  caseId: text('case_id')
    .primaryKey()
    .references(() => cases.id),
  jws: text('jws').notNull(),
  claims: jsonb('claims').notNull(),
  issuer: text('issuer').notNull(),
  kid: text('kid').notNull(),
  attested: boolean('attested').notNull(),
  verifiedAt: ts('verified_at').notNull(),
  recognition: text('recognition'),
  createdAt: ts('created_at').notNull().defaultNow(),
})

/** The events forwarded to the other side of their case (the relay's and the sweeper's mark). */
export const eventForwards = pgTable(
  'event_forwards',
  {
    caseId: text('case_id').notNull(),
    seq: integer('seq').notNull(),
    direction: text('direction').$type<ForwardDirection>().notNull(),
    forwardedAt: timestamp('forwarded_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.caseId, t.seq] })],
)

/** Keys revoked as compromised; a second revocation of a key may only move its time earlier. */
export const keyRevocations = pgTable(
  'key_revocations',
  {
    issuer: text('issuer').notNull(),
    kid: text('kid').notNull(),
    revokedAt: ts('revoked_at').notNull(),
    reason: text('reason'),
    recordedBy: text('recorded_by'),
    recordedAt: ts('recorded_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.issuer, t.kid] })],
)

// ---- 0003-dispatch and later: bindings, dead letters, files, console sessions, the audit trail

/** Which adapter delivers the cases of a region subtree: the binding document as validated. */
export const bindings = pgTable('bindings', {
  region: text('region').primaryKey(),
  adapter: text('adapter').$type<Binding['adapter']>().notNull(),
  doc: jsonb('doc').$type<unknown>().notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
  updatedBy: text('updated_by').notNull(),
})

/** Deliveries given up on; `seq` names the event of a dead `event` delivery. */
export const deadLetters = pgTable('dead_letters', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  caseId: text('case_id')
    .notNull()
    .references(() => cases.id),
  kind: text('kind').$type<'dispatch' | 'event'>().notNull(),
  region: text('region').notNull(),
  adapter: text('adapter').notNull(),
  reason: text('reason').notNull(),
  attempts: integer('attempts').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  redrivenAt: ts('redriven_at'),
  redrivenBy: text('redriven_by'),
  seq: integer('seq'),
})

/** Uploaded bytes, once per SHA-256 (the column collates as C). */
export const files = pgTable('files', {
  sha256: text('sha256').primaryKey(),
  mediaType: text('media_type').notNull(),
  size: integer('size').notNull(),
  content: bytea('content').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  usedAt: ts('used_at').notNull().defaultNow(),
})

/** Who uploaded which bytes (a caller may reference only its own uploads or bytes a case already holds). */
export const fileUploads = pgTable(
  'file_uploads',
  {
    sha256: text('sha256')
      .notNull()
      .references(() => files.sha256),
    uploadedBy: text('uploaded_by').notNull(),
    source: text('source').$type<'upload' | 'peer'>().notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.sha256, t.uploadedBy] })],
)

/** The console's sessions, by the hash of their cookie's secret. */
export const consoleSessions = pgTable('console_sessions', {
  secretHash: bytea('secret_hash').primaryKey(),
  tokenId: text('token_id')
    .notNull()
    .references(() => personTokens.id),
  csrf: text('csrf').notNull(),
  createdAt: ts('created_at').notNull(),
  lastSeenAt: ts('last_seen_at').notNull(),
  expiresAt: ts('expires_at').notNull(),
  endedAt: ts('ended_at'),
})

/** The audit trail: one hash chain of administrative and security actions. */
export const auditRecords = pgTable('audit_records', {
  seq: bigint('seq', { mode: 'number' }).primaryKey(),
  at: ts('at').notNull(),
  actorKind: text('actor_kind').$type<AuditActorKind>().notNull(),
  actorId: text('actor_id'),
  actorName: text('actor_name'),
  actorRole: text('actor_role'),
  via: text('via').$type<AuditVia>().notNull(),
  source: text('source'),
  userAgent: text('user_agent'),
  action: text('action').notNull(),
  target: text('target'),
  outcome: text('outcome').$type<AuditOutcome>().notNull(),
  reason: text('reason'),
  change: jsonb('change').$type<Record<string, unknown>>(),
  count: integer('count').notNull().default(1),
  prevHash: text('prev_hash').notNull(),
  hash: text('hash').notNull(),
})

/** Where the audit chain was cut by retention: the last pruned record, the anchor of what remains. */
export const auditPrunes = pgTable('audit_prunes', {
  throughSeq: bigint('through_seq', { mode: 'number' }).primaryKey(),
  throughHash: text('through_hash').notNull(),
  records: integer('records').notNull(),
  olderThan: ts('older_than').notNull(),
  at: ts('at').notNull(),
})

// ---- 0017-checkpoints (append-only: a trigger refuses UPDATE, DELETE and TRUNCATE)

/** This gateway's signed checkpoints over the chain heads appended since the one before. */
export const checkpoints = pgTable('checkpoints', {
  seq: bigint('seq', { mode: 'number' }).primaryKey(),
  jws: text('jws').notNull(),
  root: text('root').notNull(),
  size: integer('size').notNull(),
  prev: text('prev').notNull(),
  hash: text('hash').notNull().unique(),
  createdAt: ts('created_at').notNull(),
})

/** The leaves of each checkpoint, one per chain head (the case id collates as C). */
export const checkpointLeaves = pgTable(
  'checkpoint_leaves',
  {
    checkpointSeq: bigint('checkpoint_seq', { mode: 'number' })
      .notNull()
      .references(() => checkpoints.seq),
    idx: integer('idx').notNull(),
    caseId: text('case_id').notNull(),
    eventSeq: integer('event_seq').notNull(),
    head: text('head').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.checkpointSeq, t.idx] }),
    uniqueIndex('checkpoint_leaves_case_idx').on(t.caseId, t.eventSeq),
  ],
)

/** A witness's answer to one of this gateway's checkpoints. */
export const checkpointCountersignatures = pgTable(
  'checkpoint_countersignatures',
  {
    checkpointSeq: bigint('checkpoint_seq', { mode: 'number' })
      .notNull()
      .references(() => checkpoints.seq),
    witness: text('witness').notNull(),
    countersignature: text('countersignature').notNull(),
    receivedAt: ts('received_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.checkpointSeq, t.witness] })],
)

/** Other gateways' checkpoints this gateway witnessed. */
export const witnessedCheckpoints = pgTable(
  'witnessed_checkpoints',
  {
    origin: text('origin').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    jws: text('jws').notNull(),
    root: text('root').notNull(),
    size: integer('size').notNull(),
    prev: text('prev').notNull(),
    hash: text('hash').notNull(),
    countersignature: text('countersignature').notNull(),
    receivedAt: ts('received_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.origin, t.seq] })],
)
