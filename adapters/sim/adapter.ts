/**
 * The `sim` adapter: delivers cases to the simulated city system (`tongban sim`, adapters/sim/server.ts).
 *
 * - `deliverCase`: `POST {baseUrl}/cases` with the OutboundCase as JSON and `Idempotency-Key` →
 *   `{ remoteRef: ref, receipt }` (the sim's ES256 receipt, typ `tongban-sim-receipt+jwt`).
 * - `deliverFollowUp`: `POST {baseUrl}/cases/{remoteRef}/events` with `{ caseId, seq, type, at, data }` → 204.
 * - `health`: `GET {baseUrl}/health`.
 * Failures are `AppError('upstream_failed')`: retryable for timeouts, connection errors, 5xx, 408, 409, 425
 * and 429 (the sim's injected 503s and its `down` mode), not retryable for other 4xx.
 *
 * The sim calls back the gateway as a system client of its own; this adapter only carries cases to it.
 *
 * @example
 * const settings = { baseUrl: 'http://127.0.0.1:8090' }
 * const http = new HttpClient(simHttpOptions(settings)) // 127.0.0.1:8090, private addresses allowed
 * const adapter = createSimAdapter(settings, { http, logger })
 */
import { z } from 'zod'
import type {
  AdapterCapabilities,
  AdapterHealth,
  AdapterLogger,
  CallContext,
  DeliveryReceipt,
  FollowUp,
  OutboundCase,
  RegionAdapter,
} from '../../src/ports/region-adapter.js'
import { failureFromStatus, unexpectedAnswer } from '../_shared/errors.js'
import type { HttpClient, HttpClientOptions } from '../_shared/http.js'
import { parseSettings } from '../_shared/settings.js'

export const SimSettings = z.strictObject({
  /** Where the sim listens, e.g. `http://127.0.0.1:8090`. */
  baseUrl: z.url({ protocol: /^https?$/ }),
  /** The sim usually runs on this machine or the LAN, so private addresses are allowed by default. */
  allowPrivateAddresses: z.boolean().default(true),
})
export type SimSettings = z.infer<typeof SimSettings>

/**
 * The HttpClient options a sim binding needs: its base URL's host, and private addresses allowed unless the
 * settings say otherwise (build the client from the parsed settings, so that the default applies).
 */
export function simHttpOptions(settings: unknown): HttpClientOptions {
  const s = parseSettings(SimSettings, settings, 'sim')
  return { allowHosts: [new URL(s.baseUrl).host], allowPrivateAddresses: s.allowPrivateAddresses }
}

const Delivered = z.object({ ref: z.string().min(1).max(200), receipt: z.string().min(1).max(8192) })

/** The simulator calls back with its events. */
export const simCapabilities: AdapterCapabilities = { polls: false }

/**
 * Creates the sim adapter.
 * @param settings the binding's settings (`SimSettings`); invalid ones throw an Error naming each problem.
 * @param deps.http the binding's HTTP client (`new HttpClient(simHttpOptions(settings))`); `close()` closes it.
 */
export function createSimAdapter(settings: unknown, deps: { http: HttpClient; logger: AdapterLogger }): RegionAdapter {
  const s = parseSettings(SimSettings, settings, 'sim')
  const base = s.baseUrl.endsWith('/') ? s.baseUrl : `${s.baseUrl}/`
  if (!deps.http.allows(base))
    throw new Error('invalid sim adapter settings: baseUrl: host not allowed by the HttpClient')
  const at = (path: string) => new URL(path, base).toString()
  const { http, logger } = deps

  return {
    kind: 'sim',

    async deliverCase(c: OutboundCase, ctx: CallContext): Promise<DeliveryReceipt> {
      const res = await http.request({
        method: 'POST',
        url: at('cases'),
        headers: { 'content-type': 'application/json', 'idempotency-key': ctx.idempotencyKey },
        body: JSON.stringify(c),
        signal: ctx.signal,
      })
      if (res.status !== 200 && res.status !== 201) throw failureFromStatus(res.status, 'deliverCase', res)
      const answer = Delivered.safeParse(res.json())
      if (!answer.success) throw unexpectedAnswer('deliverCase', 'the sim answered without ref and receipt')
      logger.debug({ caseId: c.caseId, remoteRef: answer.data.ref }, 'sim: case delivered')
      return { remoteRef: answer.data.ref, receipt: answer.data.receipt }
    },

    async deliverFollowUp(f: FollowUp, ctx: CallContext): Promise<void> {
      const res = await http.request({
        method: 'POST',
        url: at(`cases/${encodeURIComponent(f.remoteRef)}/events`),
        headers: { 'content-type': 'application/json', 'idempotency-key': ctx.idempotencyKey },
        body: JSON.stringify({ caseId: f.caseId, seq: f.seq, type: f.type, at: f.at, data: f.data }),
        signal: ctx.signal,
      })
      if (res.status < 200 || res.status >= 300) throw failureFromStatus(res.status, 'deliverFollowUp', res)
      logger.debug({ caseId: f.caseId, remoteRef: f.remoteRef, seq: f.seq, type: f.type }, 'sim: follow-up delivered')
    },

    async health(signal: AbortSignal): Promise<AdapterHealth> {
      try {
        const res = await http.request({ method: 'GET', url: at('health'), signal })
        if (res.status !== 200) return { ok: false, detail: `sim answered HTTP ${res.status}` }
        const body = res.json() as { simId?: unknown; cases?: unknown }
        return { ok: true, detail: `sim ${String(body.simId ?? '?')}: ${String(body.cases ?? 0)} cases` }
      } catch (e) {
        return { ok: false, detail: e instanceof Error ? e.message : String(e) }
      }
    },

    async close() {
      await http.close()
    },
  }
}
