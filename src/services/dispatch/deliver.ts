/**
 * Delivering a submitted case to its processing region's system: the verb behind the `case.dispatch`
 * worker. It decides, from the agreement's retry policy, whether a failure is retried or dead-lettered;
 * the worker only translates the decision into BullMQ terms.
 */
import type { RetryPolicy } from '../../../config/schema.js'
import { isParentCase } from '../../domain/bundle.js'
import { AppError, isAppError } from '../../errors.js'
import type { CaseRecord } from '../../ports/case-store.js'
import type { DeadLetterStore } from '../../ports/dead-letter-store.js'
import type { AdapterResolver, OutboundCase } from '../../ports/region-adapter.js'
import type { RedisCircuitBreaker } from '../../queue/circuit.js'
import { recordGatewayEvent } from '../cases/gateway-events.js'
import { openForm } from '../cases/sealed-form.js'
import type { CaseDeps } from '../context.js'

export interface DispatchDeps {
  cases: CaseDeps
  adapters: AdapterResolver
  circuit: RedisCircuitBreaker
  deadLetters: DeadLetterStore
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

const defaultPolicy: RetryPolicy = { attempts: 8, backoffMs: 2000, maxAgeHours: 72 }

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

/**
 * One delivery attempt (`attemptsMade` earlier attempts failed). Idempotent: a case that is no longer
 * `submitted` (delivered meanwhile, withdrawn) is skipped; the other side dedupes by the case id.
 */
export async function dispatchCase(
  deps: DispatchDeps,
  caseId: string,
  attemptsMade: number,
  signal: AbortSignal,
): Promise<DispatchOutcome> {
  const c = await deps.cases.cases.get(caseId)
  if (!c) return { kind: 'skipped', reason: 'no such case' }
  if (c.status !== 'submitted') return { kind: 'skipped', reason: `status is ${c.status}` }
  if (isParentCase(c)) return { kind: 'skipped', reason: 'a parent case is not delivered itself' }
  const region = c.processingRegion as string
  const snap = await deps.cases.directory.snapshot()
  // The retry policy of the agreement version the case was routed under (a later version applies to new cases).
  const inForce = c.agreement ? snap.agreements.get(c.agreement.id) : undefined
  const policy =
    (c.agreement &&
      (inForce?.version === c.agreement.version
        ? inForce.retryPolicy
        : (await deps.cases.directory.agreement(c.agreement.id, c.agreement.version))?.agreement.retryPolicy)) ||
    defaultPolicy
  const target = await deps.adapters.resolve(region)
  const deadLetter = async (reason: string, adapter: string) => {
    await deps.deadLetters.add({ caseId, kind: 'dispatch', region, adapter, reason, attempts: attemptsMade + 1 })
    deps.observe?.(target?.bindingRegion ?? region, 'dead_lettered')
    await recordGatewayEvent(deps.cases, caseId, 'delivery_failed', { reason, attempts: attemptsMade + 1 })
    deps.cases.logger.warn({ caseId, region, adapter, reason, attempts: attemptsMade + 1 }, 'delivery dead-lettered')
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

  try {
    const receipt = await target.adapter.deliverCase(await toOutbound(deps.cases, c), {
      idempotencyKey: caseId,
      signal,
    })
    await deps.circuit.success(circuitKey)
    await recordGatewayEvent(
      deps.cases,
      caseId,
      'dispatched',
      { adapter: target.kind, remoteRef: receipt.remoteRef, ...(receipt.receipt ? { receipt: receipt.receipt } : {}) },
      { remoteRef: receipt.remoteRef },
    )
    deps.observe?.(circuitKey, 'delivered')
    return { kind: 'delivered', remoteRef: receipt.remoteRef }
  } catch (e) {
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
