/**
 * The port every region adapter implements: how this gateway talks to the system that processes cases
 * for a region (another Tongban gateway, a legacy REST system, no system at all, or the simulator).
 *
 * Contract for implementations (checked by the conformance suite in test/contract/):
 * - Calls must be idempotent for the same `idempotencyKey`: a delivery retried after a timeout must not
 *   create a second case on the other side.
 * - Failures throw `AppError('upstream_failed', …, { retryable })`: `retryable: true` for timeouts,
 *   connection errors, 5xx and 429 (the dispatch worker retries with backoff and counts them towards the
 *   region's circuit), `retryable: false` for answers that will not change on retry (4xx other than
 *   408/409/425/429: the worker dead-letters the case at once).
 * - Adapters never log identity numbers or secrets, and never follow redirects.
 * - `signal` aborts the call (worker shutdown, overall deadline).
 */
import type { Binding, Mode, Scope } from '../../config/schema.js'
import type { EventType } from '../domain/lifecycle.js'

export type AdapterKind = 'peer' | 'rest' | 'manual' | 'sim'

/** What an adapter kind declares about itself, before any binding of it exists (adapters/index.ts). */
export interface AdapterCapabilities {
  /**
   * Its systems cannot call back: the gateway asks them for events (`fetchStatus`, which its adapters then
   * implement) on a schedule, every `pollIntervalSeconds` of the binding (default 60).
   */
  polls: boolean
}

/** A case as delivered to the processing side: everything it needs to handle it. */
export interface OutboundCase {
  /** This gateway's case id: the other side's `externalRef`, and the idempotency key of the delivery. */
  caseId: string
  externalRef: string | null
  item: string
  itemName: string
  mode: Mode
  scope: Scope
  originRegion: string
  processingRegion: string
  agreement: { id: string; version: number }
  /** The processing side is a party: it gets the identity number in clear (over TLS, never logged). */
  applicant: { kind: 'person' | 'organization'; name: string; idType: string; idNumber: string; phone: string | null }
  agent: { window: string; operator: string } | null
  form: Record<string, unknown>
  materials: Record<string, unknown>[]
  delivery: Record<string, unknown> | null
  dueDate: string | null
  submittedAt: string
  /** This gateway's receipt for the submission (JWS). */
  receipt: string
}

/** What the processing side answered to a delivery. */
export interface DeliveryReceipt {
  /** The case's reference in the other system (its case id, or for `manual` the transfer slip number). */
  remoteRef: string
  /** The other side's signed receipt, when it gives one (a peer gateway does). */
  receipt: string | null
}

/** A follow-up on a delivered case: one event of its timeline that the other side must learn. */
export interface FollowUp {
  caseId: string
  remoteRef: string
  seq: number
  type: EventType
  at: string
  data: Record<string, unknown>
}

/** An event read from a system that cannot call back (polled by `fetchStatus`). */
export interface RemoteEvent {
  type: EventType
  at: string
  data: Record<string, unknown>
  /** The other system's id of the event, so that a poll never records it twice. */
  remoteId: string
}

export interface CallContext {
  idempotencyKey: string
  signal: AbortSignal
}

export interface AdapterHealth {
  ok: boolean
  detail: string
}

export interface RegionAdapter {
  readonly kind: AdapterKind
  deliverCase(c: OutboundCase, ctx: CallContext): Promise<DeliveryReceipt>
  deliverFollowUp(f: FollowUp, ctx: CallContext): Promise<void>
  /**
   * Only for an origin that is another gateway: hands it the case's result JWS (PROTOCOL §5,
   * `POST /v1/cases/{remoteRef}/result`). A 409 showing the case already completed counts as delivered.
   */
  deliverResult?(remoteRef: string, result: string, ctx: CallContext): Promise<void>
  /** Only for systems that cannot call back: the events after the ones already seen. */
  fetchStatus?(remoteRef: string, ctx: CallContext): Promise<RemoteEvent[]>
  /**
   * Fetches a file that a case from this region references (materials submitted once travel with the
   * case): the other gateway's `GET /v1/files/{sha256}`. The caller checks the hash before storing it.
   */
  fetchFile?(sha256: string, ctx: CallContext): Promise<{ mediaType: string; content: Buffer }>
  /**
   * Only for another gateway: hands it one of our signed checkpoints to witness
   * (`POST /v1/checkpoints`) and returns its countersignature. A 409 `checkpoint_gap` throws
   * `AppError('upstream_failed')` with `context.expectedSeq`, the seq the witness waits for.
   */
  witnessCheckpoint?(checkpoint: string, ctx: CallContext): Promise<{ countersignature: string }>
  health(signal: AbortSignal): Promise<AdapterHealth>
  close(): Promise<void>
}

/** What this gateway lends an adapter: its identity and a way to sign requests as itself. */
export interface GatewayIdentity {
  gatewayId: string
  /** The algorithm `sign` uses without `alg` (the deployment's `SIGNING_ALG`); absent means ES256 or EdDSA. */
  readonly alg?: string
  /**
   * Signs a payload with the gateway's current key (compact JWS with header alg, kid, typ); with `alg`
   * (ES256, EdDSA or SM2: what a peer binding asks for) with the gateway's key of that algorithm, and
   * rejects when the gateway holds none.
   */
  sign(payload: Record<string, unknown>, typ: string, alg?: string): Promise<string>
}

/** A minimal logger shape (pino's), so that adapters do not depend on the logging library. */
export interface AdapterLogger {
  info(obj: Record<string, unknown>, msg?: string): void
  warn(obj: Record<string, unknown>, msg?: string): void
  error(obj: Record<string, unknown>, msg?: string): void
  debug(obj: Record<string, unknown>, msg?: string): void
}

/** Finds the adapter of a region's binding (the most specific binding of the region or an ancestor; `*` last). */
export interface AdapterResolver {
  /** null when no binding covers the region (not even `*`). */
  resolve(region: string): Promise<ResolvedBinding | null>
  /**
   * The adapter of a case's delivery route (the binding it was dispatched on, as it was then): the binding
   * in force for `region` when it still leads to the same system, otherwise one built from the route.
   */
  resolveRoute(region: string, route: Binding): Promise<ResolvedBinding>
  /** Drops cached adapters (after a binding changed). */
  invalidate(): void
}

export interface ResolvedBinding {
  adapter: RegionAdapter
  kind: AdapterKind
  bindingRegion: string
  circuit: CircuitSettings
  /** The binding itself (recorded on a case as its delivery route). */
  binding: Binding
}

/**
 * Whether two bindings lead to the same system: the same adapter and the same address (`baseUrl`). A
 * change of anything else (timeouts, credentials' names, mappings) is the same system with new settings.
 */
export function sameSystem(a: Binding, b: Binding): boolean {
  return a.adapter === b.adapter && String(a.settings.baseUrl ?? '') === String(b.settings.baseUrl ?? '')
}

export interface CircuitSettings {
  failureThreshold: number
  openSeconds: number
}
