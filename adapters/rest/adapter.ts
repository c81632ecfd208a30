/**
 * The `rest` adapter: a legacy JSON system that cannot call back. Deliveries and follow-ups are POSTs of
 * mapped bodies, signed with the platform HMAC headers; its progress is polled with `fetchStatus` every
 * `pollIntervalSeconds`.
 */
import { readFileSync } from 'node:fs'
import type {
  AdapterCapabilities,
  AdapterHealth,
  AdapterLogger,
  CallContext,
  DeliveryReceipt,
  FollowUp,
  OutboundCase,
  RegionAdapter,
  RemoteEvent,
} from '../../src/ports/region-adapter.js'
import { failureFromStatus, safeExcerpt, unexpectedAnswer } from '../_shared/errors.js'
import type { HttpClient, HttpClientOptions, HttpResponse } from '../_shared/http.js'
import { parseSettings } from '../_shared/settings.js'
import { applyMapping, getPath } from './mapping.js'
import { RestSettings } from './settings.js'
import { signedHeaders } from './signing.js'
import { mapStatusEvents } from './status.js'

export { RestSettings } from './settings.js'

export interface RestAdapterDeps {
  /** One client for this binding (see `restHttpOptions`); the adapter closes it on `close()`. */
  http: HttpClient
  logger: AdapterLogger
  /** Where `appSecretEnv` is looked up; default `process.env`. (`appSecretFile` is read from the disk.) */
  env?: Record<string, string | undefined>
}

/** The HttpClient options a rest binding needs: its base URL's host, and its private-address choice. */
export function restHttpOptions(settings: unknown): HttpClientOptions {
  const s = parseSettings(RestSettings, settings, 'rest')
  return { allowHosts: [new URL(s.baseUrl).host], allowPrivateAddresses: s.allowPrivateAddresses }
}

/** The HMAC secret from the environment variable or the file the settings name; errors name, never show. */
function appSecret(s: RestSettings, env: Record<string, string | undefined>): string {
  if (s.appSecretFile !== undefined) {
    let text: string
    try {
      text = readFileSync(s.appSecretFile, 'utf8')
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error'
      throw new Error(`rest adapter: cannot read the secret file ${s.appSecretFile} (appSecretFile): ${code}`)
    }
    const secret = text.replace(/\r?\n$/, '')
    if (secret === '') throw new Error(`rest adapter: the secret file ${s.appSecretFile} (appSecretFile) is empty`)
    return secret
  }
  const name = s.appSecretEnv as string
  const secret = env[name]
  if (secret === undefined || secret === '') {
    throw new Error(`rest adapter: the environment variable ${name} (appSecretEnv) is not set`)
  }
  return secret
}

/** A legacy system cannot call back: its status is polled. */
export const restCapabilities: AdapterCapabilities = { polls: true }

/**
 * Creates the adapter for one legacy system. Throws an `Error` listing the issues if `settings` do not parse
 * as `RestSettings`, and one naming the variable or file (never a value) if the secret is unset, empty or
 * unreadable. The secret is read here, once, when the binding's adapter is built.
 *
 * @example
 * const settings = { baseUrl: 'https://yc.xiangyang.example.cn', appKey: 'tongban-420300', appSecretEnv: 'XY_APP_SECRET' }
 * const adapter = createRestAdapter(settings, { http: new HttpClient(restHttpOptions(settings)), logger })
 */
export function createRestAdapter(settings: unknown, deps: RestAdapterDeps): RegionAdapter {
  const s = parseSettings(RestSettings, settings, 'rest')
  const secret = appSecret(s, deps.env ?? process.env)
  const base = s.baseUrl.replace(/\/+$/, '')
  if (!deps.http.allows(base))
    throw new Error('invalid rest adapter settings: baseUrl: host not allowed by the HttpClient')
  const { http, logger } = deps
  const withRef = (path: string, ref: string) => base + path.replaceAll('{ref}', encodeURIComponent(ref))

  async function send(
    op: string,
    method: 'GET' | 'POST',
    url: string,
    signal: AbortSignal,
    extra: { json?: unknown; headers?: Record<string, string>; caseId?: string },
  ): Promise<HttpResponse> {
    const body = extra.json === undefined ? '' : JSON.stringify(extra.json)
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...extra.headers,
      ...signedHeaders(s.appKey, secret!, body),
    }
    if (body !== '') headers['content-type'] = 'application/json; charset=utf-8'
    const started = Date.now()
    const res = await http.request({ method, url, headers, signal, ...(body === '' ? {} : { body }) })
    logger.debug(
      { adapter: 'rest', op, caseId: extra.caseId, status: res.status, ms: Date.now() - started },
      'legacy system answered',
    )
    if (res.status < 200 || res.status >= 300) throw failureFromStatus(res.status, op, res)
    return res
  }

  /** Refuses an envelope whose business code says no (these platforms answer HTTP 200 with `code` ≠ 0). */
  function checkEnvelope(op: string, answer: unknown): void {
    if (s.mapping.response.code === null) return
    const code = getPath(answer, s.mapping.response.code)
    if (code === undefined || code === null) return
    if (!s.mapping.response.okCodes.includes(String(code))) {
      throw unexpectedAnswer(op, `the system refused with business code ${String(code)}`, {
        upstreamCode: safeExcerpt(String(code), 64),
      })
    }
  }

  function lenientJson(res: HttpResponse): unknown {
    if (res.body.length === 0) return undefined
    try {
      return JSON.parse(res.body.toString('utf8'))
    } catch {
      return undefined
    }
  }

  return {
    kind: 'rest',

    async deliverCase(c: OutboundCase, ctx: CallContext): Promise<DeliveryReceipt> {
      const res = await send('deliverCase', 'POST', base + s.paths.submit, ctx.signal, {
        json: applyMapping(s.mapping.request, c),
        // Our case id is the natural key: a re-drive later must land on the same remote case.
        headers: { 'x-idempotency-key': c.caseId },
        caseId: c.caseId,
      })
      const answer = res.json()
      checkEnvelope('deliverCase', answer)
      const ref = getPath(answer, s.mapping.response.ref)
      if ((typeof ref !== 'string' && typeof ref !== 'number') || String(ref) === '') {
        throw unexpectedAnswer('deliverCase', `the answer has no case number at ${s.mapping.response.ref}`)
      }
      return { remoteRef: String(ref), receipt: null }
    },

    async deliverFollowUp(f: FollowUp, ctx: CallContext): Promise<void> {
      const res = await send('deliverFollowUp', 'POST', withRef(s.paths.followUp, f.remoteRef), ctx.signal, {
        json: applyMapping(s.mapping.followUp, f),
        headers: { 'x-idempotency-key': ctx.idempotencyKey },
        caseId: f.caseId,
      })
      checkEnvelope('deliverFollowUp', lenientJson(res))
    },

    async fetchStatus(remoteRef: string, ctx: CallContext): Promise<RemoteEvent[]> {
      const res = await send('fetchStatus', 'GET', withRef(s.paths.status, remoteRef), ctx.signal, {})
      const answer = res.json()
      checkEnvelope('fetchStatus', answer)
      const events = mapStatusEvents(answer, s.mapping.status, { logger, remoteRef })
      if (events === null)
        throw unexpectedAnswer('fetchStatus', `the answer has no event array at ${s.mapping.status.events}`)
      return events
    },

    async health(signal: AbortSignal): Promise<AdapterHealth> {
      try {
        const res = await send('health', 'GET', base + s.paths.health, signal, {})
        return { ok: true, detail: `HTTP ${res.status}` }
      } catch (e) {
        return { ok: false, detail: e instanceof Error ? e.message : 'unreachable' }
      }
    },

    async close(): Promise<void> {
      await http.close()
    },
  }
}
