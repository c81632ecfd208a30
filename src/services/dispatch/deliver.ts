/**
 * Delivering a submitted case to its processing region's system: the verb behind the `case.dispatch`
 * worker. It decides, from the agreement's retry policy, whether a failure is retried or dead-lettered;
 * the worker only translates the decision into BullMQ terms.
 */
import type { RetryPolicy } from '../../../config/schema.js'
import { isParentCase } from '../../domain/bundle.js'
import { AppError, isAppError } from '../../errors.js'
import type { CaseRecord } from '../../ports/case-store.js'
import type { CircuitBreaker } from '../../ports/circuit-breaker.js'
import type { DeadLetterStore } from '../../ports/dead-letter-store.js'
import type { AdapterResolver, OutboundCase } from '../../ports/region-adapter.js'
import { recordGatewayEvent } from '../cases/gateway-events.js'
import { openForm } from '../cases/sealed-form.js'
import type { CaseDeps } from '../context.js'
import type { BindingLimiter } from './binding-limiter.js'

export interface DispatchDeps {
  cases: CaseDeps
  adapters: AdapterResolver
  circuit: CircuitBreaker
  deadLetters: DeadLetterStore
  /** Caps each binding's deliveries in flight at its `concurrency` (none: no cap beyond the worker's). */
  limiter?: BindingLimiter | undefined
  /** Counts each delivery attempt's result by the binding's region (metrics); optional. */
  observe?: ((region: string, result: DeliveryResult) => void) | undefined
}

/** What became of one delivery attempt: `tongban_delivery_attempts_total{region,result}`. */
export type DeliveryResult = 'delivered' | 'failed' | 'dead_lettered' | 'circuit_open'

export type DispatchOutcome =
  | { kind: 'delivered'; remoteRef: string }
  | { kind: 'skipped'; reason: string }
  /** The region's circuit is open: try again at `retryAt`, without counting an attempt. */
  | { kind: 'wait'; retryAt: number }
  /**
   * The worker is closing (the job's signal aborted mid-delivery): not the region's fault and not an
   * attempt; the job goes back to the queue.
   */
  | { kind: 'interrupted' }
  /** Failed, retry after `delayMs`. */
  | { kind: 'retry'; delayMs: number; error: AppError }
  | { kind: 'dead'; reason: string }

/** For a case without an agreement, and for failures before the case (and so its agreement) could be read. */
export const defaultRetryPolicy: RetryPolicy = { attempts: 8, backoffMs: 2000, maxAgeHours: 72 }
const defaultPolicy = defaultRetryPolicy

/** Exponential backoff with full jitter in [base·2^(n−1)/2, base·2^(n−1)], capped at one hour. */
export function backoffDelay(policy: RetryPolicy, attemptsMade: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.backoffMs * 2 ** Math.max(0, attemptsMade - 1), 3_600_000)
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}

export async function toOutbound(deps: CaseDeps, c: CaseRecord): Promise<OutboundCase> {
  const snap = await deps.directory.snapshot()
  if (!c.item || !c.processingRegion || !c.agreement) {
    throw new AppError('internal', `case ${c.id} has no item, processing region or agreement to deliver`)
  }
  return {
    caseId: c.id,
    externalRef: c.externalRef,
    item: c.item,
    itemName: snap.items.get(c.item)?.name ?? c.item,
    mode: c.mode,
    scope: c.scope,
    originRegion: c.originRegion,
    processingRegion: c.processingRegion,
    agreement: c.agreement,
    applicant: {
      kind: c.applicant.kind,
      name: c.applicant.name,
      idType: c.applicant.idType,
      idNumber: deps.vault.decrypt(c.applicant.idNumberEnc),
      // The processing side is a party: it gets the real number.
      phone: c.applicant.phoneEnc ? deps.vault.decrypt(c.applicant.phoneEnc) : null,
    },
    agent: c.agent,
    form: openForm(c.form, deps.vault, true),
    materials: c.materials,
    delivery: c.delivery,
    dueDate: c.dueDate,
    submittedAt: c.createdAt.toISOString(),
    receipt: c.receipt,
  }
}

/** The retry policy of the agreement version a case was routed under (a later version applies to new cases). */
export async function retryPolicyOf(deps: CaseDeps, c: CaseRecord): Promise<RetryPolicy> {
  if (!c.agreement) return defaultPolicy
  const snap = await deps.directory.snapshot()
  const inForce = snap.agreements.get(c.agreement.id)
  if (inForce?.version === c.agreement.version) return inForce.retryPolicy
  return (await deps.directory.agreement(c.agreement.id, c.agreement.version))?.agreement.retryPolicy ?? defaultPolicy
}

/**
 * Gives up on a case's delivery: an open dead letter, `delivery_failed` on its timeline (through the
 * lifecycle, so a case that moved on meanwhile is left alone by the transition check), a warning.
 * The sweeper uses it too, for a case whose job BullMQ failed for good.
 */
export async function deadLetterDispatch(
  deps: DispatchDeps,
  c: Pick<CaseRecord, 'id' | 'processingRegion' | 'originRegion'>,
  failure: { reason: string; adapter: string; attempts: number; bindingRegion?: string | undefined },
): Promise<void> {
  const region = c.processingRegion ?? c.originRegion
  await deps.deadLetters.add({
    caseId: c.id,
    kind: 'dispatch',
    region,
    adapter: failure.adapter,
    reason: failure.reason,
    attempts: failure.attempts,
  })
  deps.observe?.(failure.bindingRegion ?? region, 'dead_lettered')
  await recordGatewayEvent(deps.cases, c.id, 'delivery_failed', { reason: failure.reason, attempts: failure.attempts })
  deps.cases.logger.warn(
    { caseId: c.id, region, adapter: failure.adapter, reason: failure.reason, attempts: failure.attempts },
    'delivery dead-lettered',
  )
}

/**
 * One delivery attempt (`attemptsMade` earlier attempts failed). Idempotent: a case that is no longer
 * `submitted` (delivered meanwhile, withdrawn) is skipped; the other side dedupes by the case id.
 *
 * Whatever fails counts against the agreement's retry policy, a thrown error included (the database away,
 * a resolver or the circuit throwing): it is retried with the policy's backoff and dead-lettered after its
 * attempts, never retried blindly. Only when even the dead letter cannot be written does this throw; the
 * worker then backs off exponentially, and the sweeper finishes what BullMQ gave up on (sweep.ts).
 */
export async function dispatchCase(
  deps: DispatchDeps,
  caseId: string,
  attemptsMade: number,
  signal: AbortSignal,
): Promise<DispatchOutcome> {
  let c: CaseRecord | null = null
  let policy = defaultPolicy
  try {
    c = await deps.cases.cases.get(caseId)
    if (!c) return { kind: 'skipped', reason: 'no such case' }
    if (c.status !== 'submitted') return { kind: 'skipped', reason: `status is ${c.status}` }
    if (isParentCase(c)) return { kind: 'skipped', reason: 'a parent case is not delivered itself' }
    policy = await retryPolicyOf(deps.cases, c)
    return await attempt(deps, c, policy, attemptsMade, signal)
  } catch (e) {
    if (signal.aborted) return { kind: 'interrupted' }
    const error = isAppError(e) ? e : new AppError('internal', (e as Error).message, { cause: e, retryable: true })
    const ageHours = c ? (deps.cases.clock.now().getTime() - c.createdAt.getTime()) / 3_600_000 : 0
    if (c && (attemptsMade + 1 >= policy.attempts || ageHours >= policy.maxAgeHours)) {
      const reason = `gave up after ${attemptsMade + 1} attempt(s): ${error.message}`
      // Throws when the database is still away: the worker retries the job, the sweeper is the last resort.
      await deadLetterDispatch(deps, c, { reason, adapter: 'none', attempts: attemptsMade + 1 })
      return { kind: 'dead', reason }
    }
    // Without the case (the database away) its policy is unknown: the default one paces the retries.
    deps.cases.logger.warn({ caseId, attempt: attemptsMade + 1, err: error.message }, 'dispatch failed; retrying')
    return { kind: 'retry', delayMs: backoffDelay(policy, attemptsMade + 1), error }
  }
}

async function attempt(
  deps: DispatchDeps,
  c: CaseRecord,
  policy: RetryPolicy,
  attemptsMade: number,
  signal: AbortSignal,
): Promise<DispatchOutcome> {
  const caseId = c.id
  const region = c.processingRegion as string
  const target = await deps.adapters.resolve(region)
  const deadLetter = async (reason: string, adapter: string) => {
    await deadLetterDispatch(deps, c, {
      reason,
      adapter,
      attempts: attemptsMade + 1,
      bindingRegion: target?.bindingRegion,
    })
    return { kind: 'dead' as const, reason }
  }
  if (!target) return deadLetter(`no binding covers region ${region}`, 'none')

  // One circuit per binding, i.e. per system: every region bound to it shares its fate (and the bindings
  // page shows it under the binding's region).
  const circuitKey = target.bindingRegion
  const gate = await deps.circuit.check(circuitKey, target.circuit)
  if (!gate.allow) {
    deps.observe?.(circuitKey, 'circuit_open')
    return { kind: 'wait', retryAt: gate.retryAt }
  }

  let release: (() => void) | undefined
  try {
    const outbound = await toOutbound(deps.cases, c)
    // The binding's own cap on deliveries in flight (a small county system is not flooded), held for the call.
    release = await deps.limiter?.acquire(circuitKey, target.binding.concurrency, signal)
    const receipt = await target.adapter.deliverCase(outbound, {
      idempotencyKey: caseId,
      signal,
    })
    release?.()
    // A circuit clean at the check has nothing to reset: one Redis round trip less on the common path. (A
    // failure counted meanwhile by another delivery stays counted until the next success that sees it.)
    if (!gate.clean) await deps.circuit.success(circuitKey)
    await recordGatewayEvent(
      deps.cases,
      caseId,
      'dispatched',
      { adapter: target.kind, remoteRef: receipt.remoteRef, ...(receipt.receipt ? { receipt: receipt.receipt } : {}) },
      // The route is recorded with the delivery: the case's later events follow it (forward.ts).
      { remoteRef: receipt.remoteRef, ...(target.binding ? { dispatchRoute: target.binding } : {}) },
    )
    deps.observe?.(circuitKey, 'delivered')
    return { kind: 'delivered', remoteRef: receipt.remoteRef }
  } catch (e) {
    release?.()
    // The job's signal aborts only when the worker shuts down (queue/workers/runner.ts): whatever the
    // adapter threw then says nothing about the region. No circuit failure, no attempt used; a probe this
    // delivery held is given back so that another worker may probe at once.
    if (signal.aborted) {
      if (gate.probe) await deps.circuit.releaseProbe(circuitKey)
      deps.cases.logger.info({ caseId, region }, 'delivery interrupted by shutdown; back to the queue')
      return { kind: 'interrupted' }
    }
    const error = isAppError(e)
      ? e
      : new AppError('upstream_failed', (e as Error).message, { cause: e, retryable: true })
    if (!error.retryable) return deadLetter(error.message, target.kind)
    const opened = await deps.circuit.failure(circuitKey, target.circuit, gate.probe)
    if (opened)
      deps.cases.logger.warn(
        { region, binding: circuitKey, adapter: target.kind },
        'circuit opened: deliveries through this binding wait',
      )
    const ageHours = (deps.cases.clock.now().getTime() - c.createdAt.getTime()) / 3_600_000
    if (attemptsMade + 1 >= policy.attempts || ageHours >= policy.maxAgeHours) {
      return deadLetter(`gave up after ${attemptsMade + 1} attempt(s): ${error.message}`, target.kind)
    }
    deps.observe?.(circuitKey, 'failed')
    return { kind: 'retry', delayMs: backoffDelay(policy, attemptsMade + 1), error }
  }
}
