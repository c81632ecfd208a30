/** The HTTP side of the conformance suite: a MockAgent behind an HttpClient, recorded requests, a capturing logger. */
import { MockAgent } from 'undici'
import { HttpClient } from '../../adapters/_shared/http.js'
import type { AdapterLogger } from '../../src/ports/region-adapter.js'

export type Operation = 'deliverCase' | 'deliverFollowUp' | 'fetchStatus' | 'health'

export interface RecordedRequest {
  method: string
  path: string
  /** Lower-case names. */
  headers: Record<string, string>
  body: string
}

export interface MockReply {
  status: number
  body?: string | Record<string, unknown>
  headers?: Record<string, string>
  delayMs?: number
}

/**
 * Registers the answer to the next call(s) of `op` (the adapter's success answer when `reply` is left out)
 * and returns the array the matching requests are recorded into. `remoteRef` fills the path of follow-ups
 * and status polls; `times` answers that many calls.
 */
export type Intercept = (
  op: Operation,
  reply?: MockReply,
  opts?: { remoteRef?: string; times?: number },
) => RecordedRequest[]

export interface Route {
  method: 'GET' | 'POST'
  path: (remoteRef: string) => string
  /** The adapter's success answer for a recorded request. */
  success: (req: RecordedRequest) => { status: number; body: unknown; headers?: Record<string, string> }
}

/** Timeouts and size limit of the suite's HttpClients: short, so that the timeout cases run fast. */
export const SUITE_HTTP = { headersTimeoutMs: 150, bodyTimeoutMs: 150, maxResponseBytes: 64 * 1024 }

/** A MockAgent refusing real connections, and an HttpClient for `origin` that dispatches through it. */
export function conformanceHttpClient(origin: string): { mock: MockAgent; http: HttpClient } {
  const mock = new MockAgent()
  mock.disableNetConnect()
  const http = new HttpClient({ allowHosts: [new URL(origin).host], dispatcher: mock, ...SUITE_HTTP })
  return { mock, http }
}

function headerRecord(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) out[String(raw[i]).toLowerCase()] = String(raw[i + 1])
  } else if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v)
  }
  return out
}

export function recordOf(opts: { method: string; path: string; headers?: unknown; body?: unknown }): RecordedRequest {
  const body = opts.body
  return {
    method: opts.method,
    path: opts.path,
    headers: headerRecord(opts.headers),
    body: typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : '',
  }
}

/** An `Intercept` over `routes`: one per operation the adapter implements. */
export function mockIntercept(mock: MockAgent, origin: string, routes: Partial<Record<Operation, Route>>): Intercept {
  return (op, reply, opts = {}) => {
    const route = routes[op]
    if (!route) throw new Error(`no route for ${op}`)
    const calls: RecordedRequest[] = []
    const scope = mock
      .get(origin)
      .intercept({ path: route.path(opts.remoteRef ?? 'R-1'), method: route.method })
      .reply((req) => {
        const recorded = recordOf(req)
        calls.push(recorded)
        const answer = reply ?? route.success(recorded)
        const body = 'body' in answer ? answer.body : undefined
        return {
          statusCode: answer.status,
          data: typeof body === 'string' ? body : body === undefined ? '' : JSON.stringify(body),
          responseOptions: {
            headers: {
              ...(typeof body === 'string' || body === undefined ? {} : { 'content-type': 'application/json' }),
              ...answer.headers,
            },
          },
        }
      })
    if (reply?.delayMs) scope.delay(reply.delayMs)
    if (opts.times) scope.times(opts.times)
    return calls
  }
}

export interface LogEntry {
  level: 'info' | 'warn' | 'error' | 'debug'
  obj: Record<string, unknown>
  msg: string | undefined
}

/** A logger that keeps every entry (the suite checks none contains the identity number). */
export function captureLogger(): { logger: AdapterLogger; entries: LogEntry[] } {
  const entries: LogEntry[] = []
  const at =
    (level: LogEntry['level']) =>
    (obj: Record<string, unknown>, msg?: string): void => {
      entries.push({ level, obj, msg })
    }
  return { logger: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') }, entries }
}
