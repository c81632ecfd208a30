/**
 * The one conformance suite of the `RegionAdapter` port (src/ports/region-adapter.ts), run for every adapter
 * kind. Adapters that call HTTP give the suite an undici `MockAgent` (with `disableNetConnect()`, passed as
 * their HttpClient's dispatcher, see `conformanceHttpClient`) and an `intercept` that knows their paths and
 * success answers; the failure cases then run too. Adapters without HTTP (`manual`, an in-process `sim`) leave
 * `mock` and `intercept` out: their HTTP cases are skipped.
 *
 * @example
 * adapterConformance('peer', async () => {
 *   const { mock, http } = conformanceHttpClient('https://gw-420600.example.cn')
 *   const { logger, entries } = captureLogger()
 *   const adapter = createPeerAdapter(settings, { http, identity, logger })
 *   return { adapter, logs: entries, mock, origin: 'https://gw-420600.example.cn', intercept: mockIntercept(mock, origin, routes) }
 * })
 */
import type { MockAgent } from 'undici'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AdapterKind } from '../../config/schema.js'
import { type AppError, isAppError } from '../../src/errors.js'
import type { RegionAdapter } from '../../src/ports/region-adapter.js'
import { waitFor } from '../helpers/wait.js'
import { IDENTITY_NUMBER, sampleCase, sampleFollowUp } from './fixtures.js'
import { type Intercept, type LogEntry, SUITE_HTTP } from './mock-http.js'

export { IDENTITY_NUMBER, sampleCase, sampleFollowUp } from './fixtures.js'
export type { Intercept, LogEntry, MockReply, Operation, RecordedRequest, Route } from './mock-http.js'
export { captureLogger, conformanceHttpClient, mockIntercept, SUITE_HTTP } from './mock-http.js'

export interface ConformanceSubject {
  adapter: RegionAdapter
  /** Everything the adapter logged (see `captureLogger`). */
  logs: LogEntry[]
  /** For HTTP adapters: the MockAgent behind the adapter's HttpClient, … */
  mock?: MockAgent
  /** … its origin (`https://host:port`), … */
  origin?: string
  /** … and how to answer each operation. */
  intercept?: Intercept
  /** Extra clean-up after each case (the adapter and the mock are closed by the suite). */
  cleanup?: () => Promise<void>
}

const ctx = (key = 'case-key') => ({ idempotencyKey: key, signal: new AbortController().signal })

async function failure(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  )
  expect(isAppError(e), `expected an AppError, got ${String(e)}`).toBe(true)
  const err = e as AppError
  expect(err.code).toBe('upstream_failed')
  // Nothing about a failure may carry the identity number, even when the other side echoes it.
  expect(err.message).not.toContain(IDENTITY_NUMBER)
  expect(JSON.stringify(err.context)).not.toContain(IDENTITY_NUMBER)
  return err
}

/** A reply echoing the identity number, as careless legacy systems do in their error messages. */
const echo = (status: number) => ({
  status,
  body: { code: status === 400 ? 'bad_request' : 'unavailable', detail: `bad applicant ${IDENTITY_NUMBER} refused` },
})

export function adapterConformance(name: string, make: () => Promise<ConformanceSubject>): void {
  describe(`RegionAdapter conformance: ${name}`, () => {
    let s: ConformanceSubject
    const http = () => {
      if (!s.mock || !s.intercept || !s.origin) throw new Error('no HTTP mock')
      return { mock: s.mock, intercept: s.intercept, origin: s.origin }
    }

    beforeEach(async () => {
      s = await make()
    })

    afterEach(async () => {
      expect(JSON.stringify(s.logs), 'the logs contain the identity number').not.toContain(IDENTITY_NUMBER)
      await s.adapter.close()
      await s.mock?.close()
      await s.cleanup?.()
    })

    it('has a kind', () => {
      expect(AdapterKind.options).toContain(s.adapter.kind)
    })

    it('delivers a case and returns a remoteRef', async () => {
      const calls = s.intercept?.('deliverCase')
      const r = await s.adapter.deliverCase(sampleCase(), ctx())
      expect(typeof r.remoteRef).toBe('string')
      expect(r.remoteRef.length).toBeGreaterThan(0)
      expect(r.receipt === null || typeof r.receipt === 'string').toBe(true)
      if (calls) expect(calls).toHaveLength(1)
    })

    it('delivers the same case twice with the same idempotency key; both succeed with the same remoteRef', async () => {
      const calls = s.intercept?.('deliverCase', undefined, { times: 2 })
      const c = sampleCase()
      const a = await s.adapter.deliverCase(c, ctx(c.caseId))
      const b = await s.adapter.deliverCase(c, ctx(c.caseId))
      expect(b.remoteRef).toBe(a.remoteRef)
      if (calls) {
        expect(calls).toHaveLength(2)
        const keys = calls.map((r) => Object.entries(r.headers).find(([k]) => k.endsWith('idempotency-key'))?.[1])
        expect(keys[0], JSON.stringify(calls[0]?.headers)).toBe(c.caseId)
        expect(keys[1]).toBe(keys[0])
        expect(calls[1]?.body).toBe(calls[0]?.body)
      }
    })

    it('turns a 503 into a retryable upstream_failed', async (t) => {
      if (!s.intercept) return t.skip()
      http().intercept('deliverCase', echo(503))
      const e = await failure(s.adapter.deliverCase(sampleCase(), ctx()))
      expect(e.retryable).toBe(true)
      expect(e.message).toContain('503')
    })

    it('turns a 429 into a retryable upstream_failed', async (t) => {
      if (!s.intercept) return t.skip()
      http().intercept('deliverCase', { status: 429, headers: { 'retry-after': '7' } })
      const e = await failure(s.adapter.deliverCase(sampleCase(), ctx()))
      expect(e.retryable).toBe(true)
      expect(e.message).toContain('429')
    })

    it('turns a 400 into a non-retryable upstream_failed that does not echo the identity number', async (t) => {
      if (!s.intercept) return t.skip()
      http().intercept('deliverCase', echo(400))
      const e = await failure(s.adapter.deliverCase(sampleCase(), ctx()))
      expect(e.retryable).toBe(false)
      expect(e.message).toContain('400')
    })

    // The answers below come only after a minute: the failure seen is the one the case names, not the answer.
    it('turns a timeout into a retryable upstream_failed, by the configured headers timeout', async (t) => {
      if (!s.intercept) return t.skip()
      http().intercept('deliverCase', { status: 201, delayMs: 60_000 })
      const e = await failure(s.adapter.deliverCase(sampleCase(), ctx()))
      expect(e.retryable).toBe(true)
      expect(e.message).toContain(`timed out: no response headers within ${SUITE_HTTP.headersTimeoutMs} ms`)
    })

    it('turns an abort by the caller into a retryable upstream_failed', async (t) => {
      if (!s.intercept) return t.skip()
      const calls = http().intercept('deliverCase', { status: 201, delayMs: 60_000 })
      const ac = new AbortController()
      const delivering = failure(s.adapter.deliverCase(sampleCase(), { idempotencyKey: 'k', signal: ac.signal }))
      // Abort once the request is in flight (the system has it, its answer is pending).
      await waitFor('the request to reach the system', async () => calls.length > 0, 10_000, 5)
      ac.abort(new Error('worker shutting down'))
      const e = await delivering
      expect(e.retryable).toBe(true)
      expect(e.message).toMatch(/abort/)
    })

    it('does not follow a redirect, and fails non-retryably', async (t) => {
      if (!s.intercept) return t.skip()
      const { mock, intercept, origin } = http()
      intercept('deliverCase', { status: 302, headers: { location: `${origin}/elsewhere` } })
      mock.get(origin).intercept({ path: '/elsewhere', method: /.*/ }).reply(201, {})
      const e = await failure(s.adapter.deliverCase(sampleCase(), ctx()))
      expect(e.retryable).toBe(false)
      expect(e.message).toContain('302')
      expect(mock.pendingInterceptors().map((i) => i.path)).toContain('/elsewhere')
    })

    it('refuses an oversized response non-retryably', async (t) => {
      if (!s.intercept) return t.skip()
      http().intercept('deliverCase', { status: 201, body: 'x'.repeat(200 * 1024) })
      const e = await failure(s.adapter.deliverCase(sampleCase(), ctx()))
      expect(e.retryable).toBe(false)
      expect(e.message).toMatch(/too large/)
    })

    it('delivers a follow-up to the remote case', async () => {
      s.intercept?.('deliverCase')
      const { remoteRef } = await s.adapter.deliverCase(sampleCase(), ctx())
      const calls = s.intercept?.('deliverFollowUp', undefined, { remoteRef })
      await s.adapter.deliverFollowUp(sampleFollowUp(remoteRef), ctx('follow-up-1'))
      if (calls) {
        expect(calls).toHaveLength(1)
        expect(calls[0]?.method).toBe('POST')
        expect(calls[0]?.body).toContain('materials_shipped')
      }
    })

    it('turns a follow-up answered 500 into a retryable upstream_failed', async (t) => {
      if (!s.intercept) return t.skip()
      http().intercept('deliverFollowUp', { status: 500 }, { remoteRef: 'R-1' })
      expect((await failure(s.adapter.deliverFollowUp(sampleFollowUp('R-1'), ctx()))).retryable).toBe(true)
    })

    it('reports health: ok', async () => {
      s.intercept?.('health')
      const h = await s.adapter.health(new AbortController().signal)
      expect(h.ok, h.detail).toBe(true)
      expect(typeof h.detail).toBe('string')
    })

    it('reports health: failing, without throwing', async (t) => {
      if (!s.intercept) return t.skip()
      http().intercept('health', { status: 503 })
      const h = await s.adapter.health(new AbortController().signal)
      expect(h.ok).toBe(false)
      expect(h.detail).toContain('503')
    })

    it('reports health: unreachable, without throwing', async (t) => {
      if (!s.intercept) return t.skip()
      http().intercept('health', { status: 200, delayMs: 60_000 })
      const h = await s.adapter.health(new AbortController().signal)
      expect(h.ok).toBe(false)
    })

    it('fetches status events when it polls (fetchStatus)', async (t) => {
      if (!s.adapter.fetchStatus) return t.skip()
      const calls = s.intercept?.('fetchStatus', undefined, { remoteRef: 'R-1' })
      const events = await s.adapter.fetchStatus('R-1', ctx())
      expect(Array.isArray(events)).toBe(true)
      for (const e of events) {
        expect(typeof e.type).toBe('string')
        expect(Number.isNaN(Date.parse(e.at))).toBe(false)
        expect(e.remoteId.length).toBeGreaterThan(0)
      }
      if (calls) expect(calls).toHaveLength(1)
    })

    it('logs nothing with the identity number through a delivery, a refusal and a follow-up', async () => {
      s.intercept?.('deliverCase')
      const { remoteRef } = await s.adapter.deliverCase(sampleCase(), ctx())
      if (s.intercept) {
        s.intercept('deliverCase', echo(400))
        await s.adapter.deliverCase(sampleCase(), ctx()).catch(() => undefined)
      }
      s.intercept?.('deliverFollowUp', undefined, { remoteRef })
      await s.adapter.deliverFollowUp(sampleFollowUp(remoteRef), ctx('f'))
      expect(JSON.stringify(s.logs)).not.toContain(IDENTITY_NUMBER)
    })
  })
}
