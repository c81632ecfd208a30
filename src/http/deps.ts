import type { z } from 'zod'
import type { Logger } from '../logger.js'
import type { AlertState } from '../ports/alert-state.js'
import type { Clock } from '../ports/clock.js'
import type { DeadLetterStore } from '../ports/dead-letter-store.js'
import type { EvaluationStore } from '../ports/evaluation-store.js'
import type { QueueDepths } from '../ports/queue-depths.js'
import type { AdapterKind } from '../ports/region-adapter.js'
import type { AgreementAdminDeps } from '../services/admin/agreements.js'
import type { AdminDeps } from '../services/admin/clients.js'
import type { KeyAdminDeps } from '../services/admin/key-revocations.js'
import type { AuditTrail } from '../services/audit-trail/trail.js'
import type { InspectionDeps } from '../services/cases/inspections.js'
import type { WitnessDeps } from '../services/checkpoints/witness.js'
import type { CaseDeps } from '../services/context.js'
import type { DirectoryService } from '../services/directory/snapshot.js'
import type { BindingAdminDeps } from '../services/dispatch/bindings-admin.js'
import type { FileDeps } from '../services/files/files.js'
import type { ResultDeps } from '../services/results/submit.js'
import type { AuthDeps } from './middleware/auth.js'
import type { RequestObserver } from './middleware/metrics.js'
import type { RateLimitDeps, RateLimitObserver } from './middleware/rate-limit.js'

export interface ReadinessCheck {
  name: string
  /** Throws when the check fails; a string it resolves to is a detail shown in the answer (e.g. `2 workers`). */
  check: () => Promise<unknown>
  /** Reported in the answer, but its failure does not make the process not ready (e.g. consumers elsewhere). */
  advisory?: boolean
}

/** Everything the HTTP layer needs, built by `main.ts` (or a test). No I/O happens at import time. */
export interface HttpDeps {
  logger: Logger
  clock: Clock
  directory: DirectoryService
  readiness: ReadinessCheck[]
  gateway: { id: string; version: string }
  bodyLimitBytes: number
  auth: AuthDeps
  cases: CaseDeps
  admin: AdminDeps
  /** Agreement versions for admins (the console's agreement editor). */
  agreements: AgreementAdminDeps
  deadLetters: DeadLetterStore
  bindings: BindingAdminDeps
  results: ResultDeps
  /** Keys revoked as compromised (admins). */
  keyAdmin: KeyAdminDeps
  /** The gateway's public keys, revoked ones marked with `revokedAt`. */
  jwks: () => Promise<{ keys: Record<string, unknown>[] }>
  files: FileDeps
  /** Signed checkpoints: witnessing peers' checkpoints, receipts' inclusion proofs. */
  checkpoints: WitnessDeps
  inspections: InspectionDeps
  /** The performance report's queries (考评). */
  reports: Pick<EvaluationStore, 'performance' | 'volume'>
  /** `GET /v1/admin/queues`: what each queue holds now; omitted: 503. */
  queues?: QueueDepths | undefined
  /** Rate limits (PROTOCOL 1.1 §6); omitted: none. */
  rateLimits?: RateLimitDeps | undefined
  /**
   * Each adapter kind's settings schema (adapters/index.ts), for the console's binding forms; omitted: the
   * console edits settings as JSON.
   */
  adapterSettings?: Readonly<Record<AdapterKind, z.ZodType>> | undefined
  /** The last alert check's figures (kind → count), for the console's overview; omitted: not shown. */
  alerts?: Pick<AlertState, 'read'> | undefined
  /** The audit trail of administrative and security actions; omitted: nothing is recorded (unit tests). */
  auditTrail?: AuditTrail | undefined
  /** `GET /metrics` and the request counters; omitted: an empty page. */
  metrics?: (RequestObserver & RateLimitObserver & { render(): Promise<string> }) | undefined
}
