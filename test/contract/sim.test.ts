/** The sim adapter: the conformance suite against a MockAgent and against a live sim, then its settings. */
import { describe, expect, it } from 'vitest'
import { HttpClient } from '../../adapters/_shared/http.js'
import { createSimAdapter, simHttpOptions } from '../../adapters/sim/adapter.js'
import { createSimApp } from '../../adapters/sim/server.js'
import { adapterConformance, captureLogger, conformanceHttpClient, mockIntercept } from './adapter-conformance.js'

adapterConformance('sim (MockAgent)', async () => {
  const origin = 'http://sim.test:8090'
  const { mock, http } = conformanceHttpClient(origin)
  const { logger, entries } = captureLogger()
  const adapter = createSimAdapter({ baseUrl: origin }, { http, logger })
  const intercept = mockIntercept(mock, origin, {
    deliverCase: {
      method: 'POST',
      path: () => '/cases',
      success: (req) => {
        const caseId = (JSON.parse(req.body) as { caseId: string }).caseId
        return { status: 201, body: { ref: `SIM-${caseId.slice(0, 8)}`, receipt: 'a.b.c' } }
      },
    },
    deliverFollowUp: {
      method: 'POST',
      path: (ref) => `/cases/${ref}/events`,
      success: () => ({ status: 204, body: undefined }),
    },
    health: { method: 'GET', path: () => '/health', success: () => ({ status: 200, body: { ok: true, cases: 0 } }) },
  })
  return { adapter, logs: entries, mock, origin, intercept }
})

adapterConformance('sim (live sim)', async () => {
  const sim = createSimApp({ port: 0, acceptDelayMs: 60_000 })
  const live = await sim.start()
  const { logger, entries } = captureLogger()
  const settings = { baseUrl: live.url }
  const adapter = createSimAdapter(settings, { http: new HttpClient(simHttpOptions(settings)), logger })
  return { adapter, logs: entries, cleanup: () => live.close() }
})

describe('sim adapter: settings', () => {
  it('refuses bad settings', () => {
    const http = new HttpClient({ allowHosts: ['127.0.0.1'], allowPrivateAddresses: true })
    const logger = { info() {}, warn() {}, error() {}, debug() {} }
    expect(() => createSimAdapter({ baseUrl: 'not a url' }, { http, logger })).toThrow(/baseUrl/)
    expect(() => createSimAdapter({ baseUrl: 'http://127.0.0.1:1', extra: 1 }, { http, logger })).toThrow()
  })

  it('allows the base URL host and, by default, private addresses', () => {
    expect(simHttpOptions({ baseUrl: 'http://127.0.0.1:8090' })).toEqual({
      allowHosts: ['127.0.0.1:8090'],
      allowPrivateAddresses: true,
    })
    expect(simHttpOptions({ baseUrl: 'https://sim.example.cn', allowPrivateAddresses: false })).toEqual({
      allowHosts: ['sim.example.cn'],
      allowPrivateAddresses: false,
    })
  })

  it('refuses an HttpClient that does not allow the base URL', () => {
    const http = new HttpClient({ allowHosts: ['other.example.cn'] })
    expect(() =>
      createSimAdapter({ baseUrl: 'http://127.0.0.1:8090' }, { http, logger: captureLogger().logger }),
    ).toThrow(/not allowed/)
  })
})
