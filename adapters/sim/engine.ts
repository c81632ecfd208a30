/**
 * The simulated city system's behaviour: cases held in memory, each driven by its own pipeline that
 * answers the gateway after the configured delays (materials_received for offline_proxy, then accepted or
 * rejected, then in_review, then the decision: by default a result JWS signed with the sim's own key (PROTOCOL §5,
 * `attest: 'sim'`), or result fields the gateway attests (`attest: 'gateway'`). Follow-ups are recorded;
 * `withdrawn` stops a case's pipeline. Identity numbers are never stored: only a masked form, and the
 * applicant's salted digest (PROTOCOL 1.1 §5 `idSalt` + `idDigest`) that binds the result to the applicant.
 */
import { randomBytes, randomUUID, scrypt } from 'node:crypto'
import { z } from 'zod'
import type { AdapterLogger } from '../../src/ports/region-adapter.js'
import { type SimKey, signJws } from './keys.js'
import type { GatewayNotifier, SimEvent } from './notifier.js'
import { sleep } from './notifier.js'
import type { SimOptions } from './options.js'

/** The part of the gateway's OutboundCase the sim reads; other members are accepted and ignored. */
export const IncomingCase = z.object({
  caseId: z.string().min(1).max(64),
  externalRef: z.string().nullable().optional(),
  item: z.string().min(1).max(100),
  itemName: z.string().max(200).optional(),
  mode: z.enum(['full_online', 'online_transfer', 'offline_proxy', 'multi_site']),
  originRegion: z.string().min(1).max(16),
  processingRegion: z.string().min(1).max(16),
  applicant: z.object({ name: z.string().min(1).max(100), idType: z.string().max(40), idNumber: z.string().max(64) }),
  materials: z.array(z.record(z.string(), z.unknown())).max(200).default([]),
})
export type IncomingCase = z.infer<typeof IncomingCase>

/** A follow-up from the gateway (the adapter's FollowUp, minus what the path already says). */
export const IncomingFollowUp = z.object({
  seq: z.int().min(0),
  type: z.string().min(1).max(64),
  at: z.string().max(64),
  data: z.record(z.string(), z.unknown()).default({}),
})
export type IncomingFollowUp = z.infer<typeof IncomingFollowUp>

export type SimCaseStatus =
  | 'received'
  | 'awaiting_materials'
  | 'materials_received'
  | 'accepted'
  | 'rejected'
  | 'in_review'
  | 'decided'
  | 'withdrawn'
  /** A callback was refused or given up on: the pipeline stopped. */
  | 'stalled'

export interface SimCaseView {
  ref: string
  caseId: string
  externalRef: string | null
  item: string
  itemName: string | null
  mode: IncomingCase['mode']
  originRegion: string
  processingRegion: string
  applicant: { name: string; idType: string; idNumberMasked: string }
  materials: number
  receivedAt: string
  status: SimCaseStatus
  decision: 'approved' | 'denied' | null
  /** The result JWS the sim signed and posted (`attest: 'sim'`); null before the decision or when the gateway attests. */
  result: string | null
  rejectionReason: string | null
  /** Follow-ups received from the gateway, in order of arrival (duplicates by `seq` dropped). */
  followUps: { seq: number; type: string; at: string; data: Record<string, unknown>; receivedAt: string }[]
  /** Events the sim posted back (or failed to). */
  posted: { type: string; at: string; ok: boolean; attempts: number; reason?: string }[]
}

interface Held {
  view: SimCaseView
  /**
   * The result's `applicant` (PROTOCOL 1.1 §5 `idSalt` + `idDigest`), started on receipt: the number itself is not
   * kept. Null when the gateway attests the results (`attest: 'gateway'`): no result JWS, no digest, and none of
   * its scrypt (about 50 ms of CPU a case, which would otherwise be most of what the sim spends).
   */
  applicant: Promise<{ idSalt: string; idDigest: string }> | null
  receipt: string
  abort: AbortController
  shipped: { promise: Promise<void>; resolve: () => void }
}

const rejectionReasons = ['申请材料不齐全，请补齐后重新申请', '申请事项不属于本机关管辖范围', '申请材料与法定形式不符']

/** First 6 and last 4 characters of a resident id or credit code; first and last of shorter numbers. */
export function maskIdNumber(id: string): string {
  if (id.length >= 15) return `${id.slice(0, 6)}${'*'.repeat(id.length - 10)}${id.slice(-4)}`
  if (id.length <= 2) return '*'.repeat(id.length)
  return `${id[0]}${'*'.repeat(id.length - 2)}${id.slice(-1)}`
}

/**
 * PROTOCOL 1.1 §5 `applicant`: 16 random bytes of salt, and scrypt(`idType:idNumber`, salt, N = 32768, r = 8,
 * p = 1, 32 bytes), both base64url; node's async scrypt, off the event loop. (An adapter sees only src/ports,
 * so the gateway's own security/applicant-digest.ts is written out again here, as a city system would.)
 */
export function saltedApplicantDigest(idType: string, idNumber: string): Promise<{ idSalt: string; idDigest: string }> {
  const salt = randomBytes(16)
  return new Promise((resolve, reject) =>
    scrypt(`${idType}:${idNumber}`, salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve({ idSalt: salt.toString('base64url'), idDigest: key.toString('base64url') }),
    ),
  )
}

function deferred(): Held['shipped'] {
  let resolve = () => {}
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

export interface SimEngineDeps {
  options: SimOptions
  key: SimKey
  notifier: GatewayNotifier
  logger: AdapterLogger
  random: () => number
}

export class SimEngine {
  readonly #d: SimEngineDeps
  readonly #byRef = new Map<string, Held>()
  readonly #refByKey = new Map<string, string>()
  readonly #running = new Set<Promise<void>>()
  readonly #closing = new AbortController()
  #counter = 0

  constructor(deps: SimEngineDeps) {
    this.#d = deps
  }

  /** Stores a case (once per idempotency key) and starts its pipeline. */
  receive(idempotencyKey: string, c: IncomingCase): { ref: string; receipt: string; replayed: boolean } {
    const known = this.#refByKey.get(idempotencyKey)
    const existing = known === undefined ? undefined : this.#byRef.get(known)
    if (existing) return { ref: existing.view.ref, receipt: existing.receipt, replayed: true }

    const ref = `${this.#d.options.simId.toUpperCase()}-${String(++this.#counter).padStart(6, '0')}`
    const now = new Date()
    const receipt = signJws(this.#d.key, 'tongban-sim-receipt+jwt', {
      iss: this.#d.options.simId,
      sub: ref,
      iat: Math.floor(now.getTime() / 1000),
      caseId: c.caseId,
    })
    const applicant =
      this.#d.options.attest === 'sim' ? saltedApplicantDigest(c.applicant.idType, c.applicant.idNumber) : null
    // Awaited only when the sim signs a result; a failure then surfaces there, never as an unhandled rejection.
    applicant?.catch(() => {})
    const held: Held = {
      view: {
        ref,
        caseId: c.caseId,
        externalRef: c.externalRef ?? null,
        item: c.item,
        itemName: c.itemName ?? null,
        mode: c.mode,
        originRegion: c.originRegion,
        processingRegion: c.processingRegion,
        applicant: {
          name: c.applicant.name,
          idType: c.applicant.idType,
          idNumberMasked: maskIdNumber(c.applicant.idNumber),
        },
        materials: c.materials.length,
        receivedAt: now.toISOString(),
        status: c.mode === 'offline_proxy' ? 'awaiting_materials' : 'received',
        decision: null,
        result: null,
        rejectionReason: null,
        followUps: [],
        posted: [],
      },
      applicant,
      receipt,
      abort: new AbortController(),
      shipped: deferred(),
    }
    this.#byRef.set(ref, held)
    this.#refByKey.set(idempotencyKey, ref)
    this.#d.logger.info({ ref, caseId: c.caseId, mode: c.mode, item: c.item }, 'case received')
    const run = this.#drive(held).finally(() => this.#running.delete(run))
    this.#running.add(run)
    return { ref, receipt, replayed: false }
  }

  /** Records a follow-up; false for an unknown ref. */
  followUp(ref: string, f: IncomingFollowUp): boolean {
    const held = this.#byRef.get(ref)
    if (!held) return false
    const { view } = held
    if (view.followUps.some((seen) => seen.seq === f.seq && seen.type === f.type)) return true
    view.followUps.push({ ...f, receivedAt: new Date().toISOString() })
    this.#d.logger.info({ ref, caseId: view.caseId, followUp: f.type, seq: f.seq }, 'follow-up received')
    if (f.type === 'materials_shipped') held.shipped.resolve()
    if (f.type === 'withdrawn' && !['rejected', 'decided', 'stalled'].includes(view.status)) {
      view.status = 'withdrawn'
      held.abort.abort(new Error('withdrawn'))
    }
    return true
  }

  get(ref: string): SimCaseView | null {
    return this.#byRef.get(ref)?.view ?? null
  }

  stats() {
    const byStatus: Partial<Record<SimCaseStatus, number>> = {}
    const decisions = { approved: 0, denied: 0 }
    let followUps = 0
    let posted = 0
    let failed = 0
    for (const { view } of this.#byRef.values()) {
      byStatus[view.status] = (byStatus[view.status] ?? 0) + 1
      if (view.decision) decisions[view.decision]++
      followUps += view.followUps.length
      for (const p of view.posted) p.ok ? posted++ : failed++
    }
    return { cases: this.#byRef.size, byStatus, decisions, followUps, callbacks: { posted, failed } }
  }

  /** Stops every pipeline (pending callbacks are abandoned) and waits for them to end. */
  async close(): Promise<void> {
    this.#closing.abort(new Error('sim closing'))
    await Promise.allSettled([...this.#running])
  }

  async #drive(held: Held): Promise<void> {
    const { view } = held
    const o = this.#d.options
    const signal = AbortSignal.any([held.abort.signal, this.#closing.signal])
    try {
      if (view.mode === 'offline_proxy') {
        await untilAborted(held.shipped.promise, signal)
        await sleep(o.receiveDelayMs, signal)
        const tracking = view.followUps.find((f) => f.type === 'materials_shipped')?.data.trackingNumber
        const note = typeof tracking === 'string' ? `纸质材料已签收（运单号 ${tracking}）` : '纸质材料已签收'
        if (!(await this.#post(held, { type: 'materials_received', data: { note } }, signal))) return
        view.status = 'materials_received'
      }
      await sleep(o.acceptDelayMs, signal)
      if (this.#d.random() < o.rejectRate) {
        const reason = rejectionReasons[Math.floor(this.#d.random() * rejectionReasons.length)] ?? rejectionReasons[0]!
        if (!(await this.#post(held, { type: 'rejected', data: { reason } }, signal))) return
        view.status = 'rejected'
        view.rejectionReason = reason
        return
      }
      const accepted = { note: `${o.simId} 已受理，受理编号 ${view.ref}` }
      if (!(await this.#post(held, { type: 'accepted', data: accepted }, signal))) return
      view.status = 'accepted'
      await sleep(o.reviewDelayMs, signal)
      if (!(await this.#post(held, { type: 'in_review', data: {} }, signal))) return
      view.status = 'in_review'
      await sleep(o.decideDelayMs, signal)
      const decision = this.#d.random() < o.denyRate ? 'denied' : 'approved'
      const fields = {
        outcome: decision,
        decision: { number: `${view.ref}-决定`, date: cstDate(new Date()) },
        trust: 'B',
      }
      // The decision: a result JWS signed with the sim's own key, or fields the gateway attests (att: gateway).
      const result = o.attest === 'sim' ? await this.#signResult(held, fields) : null
      const data = result === null ? fields : { result }
      if (!(await this.#post(held, { type: 'completed', data }, signal))) return
      view.decision = decision
      view.result = result
      view.status = 'decided'
      this.#d.logger.info(
        { ref: view.ref, caseId: view.caseId, decision: view.decision, signedBy: o.attest },
        'case decided; result posted',
      )
    } catch (e) {
      if (!signal.aborted) {
        this.#d.logger.error({ ref: view.ref, caseId: view.caseId, err: (e as Error).message }, 'pipeline failed')
        view.status = 'stalled'
      }
    }
  }

  /** The PROTOCOL §5 result JWS for the decision, signed with the sim's key (iss: its client id at the gateway). */
  async #signResult(
    held: Held,
    fields: { outcome: string; decision: { number: string; date: string }; trust: string },
  ) {
    const { view } = held
    if (!held.applicant) throw new Error('a result JWS needs the applicant digest, computed only with attest: sim')
    const applicant = await held.applicant
    return signJws(this.#d.key, 'tongban-result+jwt', {
      iss: this.#d.options.clientId,
      sub: view.caseId,
      aud: view.originRegion,
      iat: Math.floor(Date.now() / 1000),
      jti: randomUUID(),
      item: view.item,
      region: view.processingRegion,
      ...fields,
      applicant,
      certificates: [],
      documents: [],
    })
  }

  /** Posts an event and records the outcome; false (and the case stalls) when the gateway did not take it. */
  async #post(held: Held, event: SimEvent, signal: AbortSignal): Promise<boolean> {
    const outcome = await this.#d.notifier.post(held.view.caseId, event, signal)
    held.view.posted.push({
      type: event.type,
      at: new Date().toISOString(),
      ok: outcome.ok,
      attempts: outcome.attempts,
      ...(outcome.ok ? {} : { reason: outcome.reason }),
    })
    if (!outcome.ok) held.view.status = 'stalled'
    // A withdrawal that arrived meanwhile wins: the pipeline stops without overwriting the status.
    return outcome.ok && !signal.aborted
  }
}

/** The date in China Standard Time (UTC+8), as decisions are dated. */
function cstDate(d: Date): string {
  return new Date(d.getTime() + 8 * 3_600_000).toISOString().slice(0, 10)
}

/** Resolves with `promise`, or rejects with the abort reason when `signal` aborts first (withdrawal, shutdown). */
function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    })
  })
}
