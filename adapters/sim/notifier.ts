/**
 * The sim's calls back to the gateway: `POST {gatewayUrl}/v1/cases/{caseId}/events` (the decision:
 * `POST {gatewayUrl}/v1/cases/{caseId}/result`) as a registered system
 * client, each request carrying a fresh PROTOCOL §2 assertion signed with the sim's key. Retries with
 * exponential backoff and jitter while the gateway is down or busy, and gives up after `giveUpAfterMs`.
 *
 * This is the simulator's own server-side code (it plays another region's system), so it uses the global
 * fetch rather than the adapters' HTTP client; it never follows redirects.
 */
import { randomUUID } from 'node:crypto'
import type { AdapterLogger } from '../../src/ports/region-adapter.js'
import { bodyHashFor, type SimKey, signJws } from './keys.js'

/**
 * The processing side's events the sim posts (copied from the lifecycle: adapters cannot import it).
 * `completed` is the decision: its data goes to `/result` as the body, `{ result: "<JWS>" }` signed by the sim
 * or unsigned result fields (outcome, decision, trust) that the gateway attests.
 */
export type SimEventType = 'materials_received' | 'accepted' | 'rejected' | 'in_review' | 'completed'

export interface SimEvent {
  type: SimEventType
  data: Record<string, unknown>
}

export type PostOutcome = { ok: true; attempts: number } | { ok: false; attempts: number; reason: string }

export interface NotifierOptions {
  gatewayUrl: string
  gatewayId: string
  clientId: string
  key: SimKey
  logger: AdapterLogger
  retryInitialMs: number
  retryMaxMs: number
  giveUpAfterMs: number
  callbackTimeoutMs: number
  random?: () => number
  fetch?: typeof fetch
}

/** The status each event leads to: a 409 naming it means an earlier attempt already landed. */
const statusAfter: Record<SimEventType, string> = {
  materials_received: 'materials_received',
  accepted: 'accepted',
  rejected: 'rejected',
  in_review: 'in_review',
  completed: 'completed',
}

type Attempt = { done: true } | { done: false; retry: boolean; reason: string; retryAfterMs?: number }

/** Resolves after `ms`, or rejects with the abort reason when `signal` aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

export class GatewayNotifier {
  readonly #o: NotifierOptions
  readonly #random: () => number
  readonly #fetch: typeof fetch

  constructor(options: NotifierOptions) {
    this.#o = options
    this.#random = options.random ?? Math.random
    this.#fetch = options.fetch ?? fetch
  }

  /** The PROTOCOL §2 assertion for one request. */
  assertion(method: string, pathAndQuery: string, body: Buffer): string {
    const iat = Math.floor(Date.now() / 1000)
    const claims: Record<string, unknown> = {
      iss: this.#o.clientId,
      sub: this.#o.clientId,
      aud: this.#o.gatewayId,
      iat,
      exp: iat + 60,
      jti: randomUUID(),
      htm: method,
      htu: pathAndQuery,
    }
    if (body.byteLength > 0) claims.bsh = bodyHashFor(this.#o.key, body)
    return signJws(this.#o.key, 'tongban-client+jwt', claims)
  }

  /**
   * Posts one event, retrying until the gateway takes it, refuses it for good, `giveUpAfterMs` passes, or
   * `signal` aborts (then it rejects with the abort reason). Never throws for a refusal: the outcome says.
   */
  async post(caseId: string, event: SimEvent, signal: AbortSignal): Promise<PostOutcome> {
    const suffix = event.type === 'completed' ? 'result' : 'events'
    const url = new URL(`v1/cases/${encodeURIComponent(caseId)}/${suffix}`, this.#base())
    const started = Date.now()
    const log = { caseId, event: event.type }
    for (let attempt = 1; ; attempt++) {
      const result = await this.#attempt(url, event, signal)
      if (result.done) {
        this.#o.logger.info({ ...log, attempts: attempt }, 'event posted to the gateway')
        return { ok: true, attempts: attempt }
      }
      const backoff = Math.min(this.#o.retryMaxMs, this.#o.retryInitialMs * 2 ** (attempt - 1))
      const wait = Math.max(backoff * (0.5 + this.#random() / 2), result.retryAfterMs ?? 0)
      const spent = Date.now() - started
      if (!result.retry || spent + wait > this.#o.giveUpAfterMs) {
        const why = result.retry ? `gave up after ${attempt} attempts in ${Math.round(spent / 1000)} s` : 'refused'
        this.#o.logger.error({ ...log, attempts: attempt, reason: result.reason }, `event not posted: ${why}`)
        return { ok: false, attempts: attempt, reason: result.reason }
      }
      this.#o.logger.warn({ ...log, attempt, reason: result.reason, retryInMs: Math.round(wait) }, 'retrying event')
      await sleep(wait, signal)
    }
  }

  #base(): string {
    const base = this.#o.gatewayUrl
    return base.endsWith('/') ? base : `${base}/`
  }

  async #attempt(url: URL, event: SimEvent, signal: AbortSignal): Promise<Attempt> {
    const body = Buffer.from(JSON.stringify(event.type === 'completed' ? event.data : event))
    const pathAndQuery = url.pathname + url.search
    let res: Response
    try {
      res = await this.#fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.assertion('POST', pathAndQuery, body)}`,
          'content-type': 'application/json',
          'x-request-id': randomUUID(),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.#o.callbackTimeoutMs)]),
      })
    } catch (e) {
      if (signal.aborted) throw signal.reason
      return { done: false, retry: true, reason: `no answer: ${(e as Error).message}` }
    }
    if (res.status >= 200 && res.status < 300) {
      await res.body?.cancel()
      return { done: true }
    }
    const problem = (await res.json().catch(() => ({}))) as {
      code?: unknown
      detail?: unknown
      currentStatus?: unknown
    }
    const reason = `${res.status} ${String(problem.code ?? '')} ${String(problem.detail ?? '')}`.trim()
    if (res.status === 409) {
      // An earlier attempt landed but its answer was lost: the case already has the event's status.
      if (problem.currentStatus === statusAfter[event.type]) return { done: true }
      // The gateway has not yet recorded the delivery (`dispatched`) when the sim answers fast: wait for it.
      const early = problem.currentStatus === undefined || problem.currentStatus === 'submitted'
      return { done: false, retry: early, reason }
    }
    if (res.status >= 500 || res.status === 429 || res.status === 408 || res.status === 425) {
      const retryAfter = Number(res.headers.get('retry-after'))
      return {
        done: false,
        retry: true,
        reason,
        ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
      }
    }
    // 400, 401 (not registered? wrong gatewayId?), 403, 404 (not acting for the processing region?), 422.
    return { done: false, retry: false, reason }
  }
}
