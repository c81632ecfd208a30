/**
 * The `peer` adapter: another Tongban gateway processes the region's cases. It speaks PROTOCOL v1 as a
 * registered system client of that gateway: every request carries a fresh assertion signed with this
 * gateway's key (§2); a delivery is `POST /v1/cases` keyed by our case id, which is also its `externalRef`, so
 * a re-drive however much later lands on the same remote case: replayed, or adopted from a 409
 * `external_ref_conflict` (§4, 1.1); follow-ups are
 * `POST /v1/cases/{id}/events`. Peers call back, so there is no `fetchStatus`.
 */
import { z } from 'zod'
import { AppError } from '../../src/errors.js'
import type {
  AdapterCapabilities,
  AdapterHealth,
  AdapterLogger,
  CallContext,
  DeliveryReceipt,
  FollowUp,
  GatewayIdentity,
  OutboundCase,
  RegionAdapter,
} from '../../src/ports/region-adapter.js'
import { failureFromStatus, unexpectedAnswer } from '../_shared/errors.js'
import type { HttpClient, HttpClientOptions, HttpResponse } from '../_shared/http.js'
import { parseSettings } from '../_shared/settings.js'
import { bodyHashFor, signAssertion } from './assertion.js'
import { createCaseBody } from './case-body.js'
import { alreadyApplied } from './follow-up.js'
import { PeerSettings } from './settings.js'

export { PeerSettings } from './settings.js'

export interface PeerAdapterDeps {
  /** One client for this binding (see `peerHttpOptions`); the adapter closes it on `close()`. */
  http: HttpClient
  identity: GatewayIdentity
  logger: AdapterLogger
}

const CaseCreated = z.object({ case: z.object({ id: z.string().min(1).max(200) }), receipt: z.string().min(1) })
const Problem = z.object({
  code: z.string().optional(),
  currentStatus: z.string().optional(),
  expectedSeq: z.number().int().min(1).optional(),
  /** `external_ref_conflict` (PROTOCOL 1.1 §4): the case our case id already names at the peer. */
  caseId: z.string().min(1).max(200).optional(),
})
const WitnessAnswer = z.object({ countersignature: z.string().min(1).max(8192) })

/** The HttpClient options a peer binding needs: its base URL's host, and its private-address choice. */
export function peerHttpOptions(settings: unknown): HttpClientOptions {
  const s = parseSettings(PeerSettings, settings, 'peer')
  return { allowHosts: [new URL(s.baseUrl).host], allowPrivateAddresses: s.allowPrivateAddresses }
}

/** The claims of a compact JWS, without verifying it (the receipt is kept as evidence, verified by whoever relies on it). */
function jwsClaims(token: string): Record<string, unknown> | null {
  const parts = token.split('.')
  if (parts.length !== 3) return null
  try {
    const v: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'))
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null
  } catch {
    return null
  }
}

function problemOf(res: HttpResponse): z.infer<typeof Problem> {
  try {
    const parsed = Problem.safeParse(JSON.parse(res.body.toString('utf8')))
    return parsed.success ? parsed.data : {}
  } catch {
    return {}
  }
}

/** Another gateway calls back with its events. */
export const peerCapabilities: AdapterCapabilities = { polls: false }

/**
 * Creates the adapter for one peer gateway. Throws an `Error` listing the issues if `settings` do not parse
 * as `PeerSettings`, or if `deps.http` may not call the base URL.
 *
 * @example
 * const settings = { baseUrl: 'https://gw-420600.example.cn', gatewayId: 'gw-420600', clientId: 'gw-420300' }
 * const adapter = createPeerAdapter(settings, { http: new HttpClient(peerHttpOptions(settings)), identity, logger })
 */
export function createPeerAdapter(settings: unknown, deps: PeerAdapterDeps): RegionAdapter {
  const s = parseSettings(PeerSettings, settings, 'peer')
  const base = s.baseUrl.replace(/\/+$/, '')
  if (!deps.http.allows(base))
    throw new Error(`invalid peer adapter settings: baseUrl: host not allowed by the HttpClient`)
  const { http, identity, logger } = deps

  async function call(method: 'GET' | 'POST', path: string, signal: AbortSignal, json?: unknown) {
    const url = base + path
    const body = json === undefined ? undefined : JSON.stringify(json)
    const alg = s.signingAlg ?? identity.alg
    const assertion = await signAssertion(identity, {
      clientId: s.clientId,
      audience: s.gatewayId,
      method,
      url,
      ...(body === undefined ? {} : { body }),
      ...(alg ? { alg } : {}),
    })
    const headers: Record<string, string> = { authorization: `Bearer ${assertion}`, accept: 'application/json' }
    if (body !== undefined) headers['content-type'] = 'application/json'
    return {
      body,
      alg,
      send: (extra: Record<string, string> = {}) =>
        http.request({
          method,
          url,
          headers: { ...headers, ...extra },
          ...(body === undefined ? {} : { body }),
          signal,
        }),
    }
  }

  return {
    kind: 'peer',

    async deliverCase(c: OutboundCase, ctx: CallContext): Promise<DeliveryReceipt> {
      const started = Date.now()
      const req = await call('POST', '/v1/cases', ctx.signal, createCaseBody(c))
      // Our case id is the natural key: a re-drive days later must still land on the same remote case.
      const res = await req.send({ 'idempotency-key': c.caseId })
      logger.debug(
        { adapter: 'peer', op: 'deliverCase', caseId: c.caseId, status: res.status, ms: Date.now() - started },
        'peer answered',
      )
      if (res.status === 409) {
        // The peer holds a case under our case id already (a re-drive after the Idempotency-Key expired, with a
        // body that changed meanwhile): that case is ours; adopt it rather than make a second one.
        const problem = problemOf(res)
        if (problem.code === 'external_ref_conflict' && problem.caseId !== undefined) {
          logger.warn(
            { adapter: 'peer', op: 'deliverCase', caseId: c.caseId, remoteRef: problem.caseId },
            'the peer already holds this case under our case id: adopted',
          )
          return { remoteRef: problem.caseId, receipt: null }
        }
      }
      if (res.status !== 201) throw failureFromStatus(res.status, 'deliverCase', res)
      const parsed = CaseCreated.safeParse(res.json())
      if (!parsed.success) throw unexpectedAnswer('deliverCase', 'the 201 answer lacks case.id or receipt')
      const { case: created, receipt } = parsed.data
      // The peer's receipt must be for this request: same body hash (`req`) and the case it names (`sub`).
      const claims = jwsClaims(receipt)
      // `req` is the `bsh` we sent: SM3 when our assertion was signed with SM2.
      if (!claims || claims.sub !== created.id || claims.req !== bodyHashFor(req.body!, req.alg)) {
        throw unexpectedAnswer('deliverCase', 'the receipt does not match the request', { remoteRef: created.id })
      }
      return { remoteRef: created.id, receipt }
    },

    async deliverFollowUp(f: FollowUp, ctx: CallContext): Promise<void> {
      const started = Date.now()
      const path = `/v1/cases/${encodeURIComponent(f.remoteRef)}/events`
      const res = await (await call('POST', path, ctx.signal, { type: f.type, data: f.data })).send()
      logger.debug(
        {
          adapter: 'peer',
          op: 'deliverFollowUp',
          caseId: f.caseId,
          seq: f.seq,
          type: f.type,
          status: res.status,
          ms: Date.now() - started,
        },
        'peer answered',
      )
      if (res.status === 201) return
      if (res.status === 409) {
        const problem = problemOf(res)
        if (problem.code === 'invalid_transition') {
          const current = /^[a-z_]{1,40}$/.test(problem.currentStatus ?? '') ? problem.currentStatus! : 'unknown'
          if (alreadyApplied(f.type, current)) {
            logger.info(
              { adapter: 'peer', caseId: f.caseId, seq: f.seq, type: f.type, currentStatus: current },
              'follow-up already applied at the peer',
            )
            return
          }
          throw new AppError(
            'upstream_failed',
            `deliverFollowUp: the peer refused ${f.type} in status ${current} (invalid_transition)`,
            { retryable: false, context: { status: 409, upstreamCode: 'invalid_transition', currentStatus: current } },
          )
        }
      }
      throw failureFromStatus(res.status, 'deliverFollowUp', res)
    },

    async deliverResult(remoteRef: string, result: string, ctx: CallContext): Promise<void> {
      const path = `/v1/cases/${encodeURIComponent(remoteRef)}/result`
      const res = await (await call('POST', path, ctx.signal, { result })).send()
      if (res.status === 201) return
      // (PROTOCOL 1.1 §4) The origin refused the result: it was delivered, and the origin posts
      // `recognition_failed` with the reasons back here, so that the issuer corrects it and posts it again.
      if (res.status === 422 && problemOf(res).code === 'result_refused') return
      if (res.status === 409) {
        const problem = problemOf(res)
        // An earlier attempt landed and only its answer was lost: the case completed with this result.
        if (
          problem.code === 'invalid_transition' &&
          ['completed', 'result_delivered', 'closed'].includes(problem.currentStatus ?? '')
        ) {
          return
        }
      }
      throw failureFromStatus(res.status, 'deliverResult', res)
    },

    async fetchFile(sha256: string, ctx: CallContext): Promise<{ mediaType: string; content: Buffer }> {
      if (!/^[0-9a-f]{64}$/.test(sha256))
        throw new AppError('validation_failed', 'not a SHA-256 (64 lower-case hex digits)')
      const res = await (await call('GET', `/v1/files/${sha256}`, ctx.signal)).send({ accept: '*/*' })
      logger.debug({ adapter: 'peer', op: 'fetchFile', status: res.status, size: res.body.length }, 'peer answered')
      if (res.status !== 200) throw failureFromStatus(res.status, 'fetchFile', res)
      const mediaType = (res.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
      return { mediaType, content: res.body }
    },

    async witnessCheckpoint(checkpoint: string, ctx: CallContext): Promise<{ countersignature: string }> {
      const res = await (await call('POST', '/v1/checkpoints', ctx.signal, { checkpoint })).send()
      if (res.status === 200 || res.status === 201) {
        const parsed = WitnessAnswer.safeParse(res.json())
        if (!parsed.success) throw unexpectedAnswer('witnessCheckpoint', 'the answer lacks a countersignature')
        return { countersignature: parsed.data.countersignature }
      }
      if (res.status === 409) {
        const problem = problemOf(res)
        const expected = problem.expectedSeq
        if (problem.code === 'checkpoint_gap' && expected !== undefined) {
          throw new AppError('upstream_failed', `witnessCheckpoint: the peer waits for checkpoint ${expected}`, {
            retryable: false,
            context: { status: 409, upstreamCode: 'checkpoint_gap', expectedSeq: expected },
          })
        }
      }
      throw failureFromStatus(res.status, 'witnessCheckpoint', res)
    },

    async health(signal: AbortSignal): Promise<AdapterHealth> {
      try {
        const res = await (await call('GET', '/healthz', signal)).send()
        return res.status === 200 ? { ok: true, detail: 'HTTP 200' } : { ok: false, detail: `HTTP ${res.status}` }
      } catch (e) {
        return { ok: false, detail: e instanceof Error ? e.message : 'unreachable' }
      }
    },

    async close(): Promise<void> {
      await http.close()
    },
  }
}
