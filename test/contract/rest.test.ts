/** The rest adapter: the conformance suite, then the platform signature, the mappings and the polling. */
import { createHmac } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { HttpClient } from '../../adapters/_shared/http.js'
import { createRestAdapter, RestSettings, restHttpOptions } from '../../adapters/rest/adapter.js'
import { type AppError, isAppError } from '../../src/errors.js'
import {
  adapterConformance,
  captureLogger,
  conformanceHttpClient,
  IDENTITY_NUMBER,
  mockIntercept,
  type RecordedRequest,
  type Route,
  sampleCase,
  sampleFollowUp,
} from './adapter-conformance.js'

const origin = 'http://yc.xiangyang.example.cn:8080'
const SECRET = 'test-secret-不要用'
const env = { XY_APP_SECRET: SECRET }
const settings = { baseUrl: origin, appKey: 'tongban-420300', appSecretEnv: 'XY_APP_SECRET' }

const routes: Record<'deliverCase' | 'deliverFollowUp' | 'fetchStatus' | 'health', Route> = {
  deliverCase: {
    method: 'POST',
    path: () => '/api/cases',
    success: () => ({ status: 200, body: { code: '200', msg: '成功', data: { caseNo: 'XY-2026-0001' } } }),
  },
  deliverFollowUp: {
    method: 'POST',
    path: (ref) => `/api/cases/${ref}/events`,
    success: () => ({ status: 200, body: { code: '200', msg: '成功' } }),
  },
  fetchStatus: {
    method: 'GET',
    path: (ref) => `/api/cases/${ref}/status`,
    success: () => ({
      status: 200,
      body: {
        code: '200',
        data: {
          events: [
            { id: 'e1', status: '受理', time: '2026-03-02 09:30:00' },
            { id: 'e2', status: 'ARCHIVED', time: '2026-03-02 09:31:00' },
            { id: 'e3', status: 'reviewing', time: 1772415060000 },
          ],
        },
      },
    }),
  },
  health: { method: 'GET', path: () => '/api/health', success: () => ({ status: 200, body: { status: 'UP' } }) },
}

function make(extra: Record<string, unknown> = {}) {
  const { mock, http } = conformanceHttpClient(origin)
  const { logger, entries } = captureLogger()
  const adapter = createRestAdapter({ ...settings, ...extra }, { http, logger, env })
  return { adapter, logs: entries, mock, origin, intercept: mockIntercept(mock, origin, routes) }
}

adapterConformance('rest', async () => make())

/** `since`: a time taken before the request was made; the signed timestamp lies between it and now. */
function expectSigned(req: RecordedRequest, since: number) {
  const { 'x-app-key': appKey, 'x-timestamp': ts, 'x-nonce': nonce, 'x-signature': sig } = req.headers
  expect(appKey).toBe('tongban-420300')
  expect(ts).toMatch(/^\d{13}$/)
  expect(Number(ts)).toBeGreaterThanOrEqual(since)
  expect(Number(ts)).toBeLessThanOrEqual(Date.now())
  expect(nonce).toMatch(/^[0-9a-f]{16}$/)
  const expected = createHmac('sha256', SECRET).update(`${appKey}\n${ts}\n${nonce}\n${req.body}`).digest('hex')
  expect(sig).toBe(expected)
}

async function failure(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  )
  expect(isAppError(e), String(e)).toBe(true)
  return e as AppError
}

describe('rest adapter', () => {
  let s: ReturnType<typeof make>
  const ctx = (key = 'k') => ({ idempotencyKey: key, signal: new AbortController().signal })
  beforeEach(() => {
    s = make()
  })
  afterEach(async () => {
    await s.adapter.close()
    await s.mock.close()
  })

  it('signs every request: app key, ms timestamp, 16-hex nonce, HMAC over key, time, nonce and exact body', async () => {
    const recorded = [
      s.intercept('deliverCase'),
      s.intercept('deliverFollowUp', undefined, { remoteRef: 'XY-2026-0001' }),
      s.intercept('fetchStatus', undefined, { remoteRef: 'XY-2026-0001' }),
      s.intercept('health'),
    ]
    const since = Date.now()
    await s.adapter.deliverCase(sampleCase(), ctx())
    await s.adapter.deliverFollowUp(sampleFollowUp('XY-2026-0001'), ctx('f-3'))
    await s.adapter.fetchStatus!('XY-2026-0001', ctx())
    await s.adapter.health(new AbortController().signal)
    const calls = recorded.flat()
    expect(calls).toHaveLength(4)
    for (const c of calls) expectSigned(c, since)
    expect(calls[3]!.body).toBe('')
    expect(new Set(calls.map((c) => c.headers['x-nonce'])).size).toBe(4)
  })

  it('delivers the default mapping with X-Idempotency-Key = case id, and reads the case number', async () => {
    const calls = s.intercept('deliverCase')
    expect(await s.adapter.deliverCase(sampleCase(), ctx('other'))).toEqual({
      remoteRef: 'XY-2026-0001',
      receipt: null,
    })
    expect(calls[0]!.headers['x-idempotency-key']).toBe(sampleCase().caseId)
    const body = JSON.parse(calls[0]!.body)
    expect(body).toMatchObject({
      externalNo: sampleCase().caseId,
      itemCode: 'hukou-transfer-spouse',
      handleMode: 'offline_proxy',
      applicant: {
        type: 'person',
        name: '张三',
        certType: 'resident_id',
        certNo: IDENTITY_NUMBER,
        mobile: '13800138000',
      },
      form: sampleCase().form,
      materials: sampleCase().materials,
    })
  })

  it('follows a custom mapping: nested targets, form paths, literals; a missing source leaves the field out', async () => {
    const custom = make({
      mapping: {
        request: {
          'sqr.xm': 'applicant.name',
          'sqr.lxdh': 'form.applicantPhone',
          'sqr.zjhm': 'applicant.idNumber',
          sxbm: 'item',
          ly: '=tongban',
          missing: 'form.nothing',
        },
        response: { ref: 'result.bjbh', code: 'errcode', okCodes: ['0'] },
      },
      paths: { submit: '/gateway/sl' },
    })
    const calls: RecordedRequest[] = []
    custom.mock
      .get(origin)
      .intercept({ path: '/gateway/sl', method: 'POST' })
      .reply((req) => {
        calls.push({ ...req, headers: {}, body: String(req.body) })
        return { statusCode: 200, data: JSON.stringify({ errcode: 0, result: { bjbh: 4711 } }) }
      })
    expect((await custom.adapter.deliverCase(sampleCase(), ctx())).remoteRef).toBe('4711')
    expect(JSON.parse(calls[0]!.body)).toEqual({
      sqr: { xm: '张三', lxdh: '13800138000', zjhm: IDENTITY_NUMBER },
      sxbm: 'hukou-transfer-spouse',
      ly: 'tongban',
    })
    await custom.adapter.close()
    await custom.mock.close()
  })

  it('refuses an HTTP 200 whose envelope code is not ok, non-retryably and without echoing the message', async () => {
    s.intercept('deliverCase', { status: 200, body: { code: '500', msg: `证件号码 ${IDENTITY_NUMBER} 不合法` } })
    const e = await failure(s.adapter.deliverCase(sampleCase(), ctx()))
    expect(e).toMatchObject({ code: 'upstream_failed', retryable: false, context: { upstreamCode: '500' } })
    expect(e.message).not.toContain(IDENTITY_NUMBER)
  })

  it('refuses an answer without a case number non-retryably', async () => {
    s.intercept('deliverCase', { status: 200, body: { code: '200', data: {} } })
    expect(await failure(s.adapter.deliverCase(sampleCase(), ctx()))).toMatchObject({ retryable: false })
  })

  it('posts a follow-up as { type, at, data } to the follow-up path, keyed by the caller’s idempotency key', async () => {
    const calls = s.intercept('deliverFollowUp', undefined, { remoteRef: 'XY%2F2026' })
    await s.adapter.deliverFollowUp(sampleFollowUp('XY/2026'), ctx('case-3'))
    expect(calls[0]!.path).toBe('/api/cases/XY%2F2026/events')
    expect(calls[0]!.headers['x-idempotency-key']).toBe('case-3')
    expect(JSON.parse(calls[0]!.body)).toEqual({
      type: 'materials_shipped',
      at: '2026-03-03T08:00:00.000Z',
      data: { carrier: 'EMS', trackingNumber: 'EMS-1234567' },
    })
  })

  it('accepts a follow-up answered 204 without a body', async () => {
    s.intercept('deliverFollowUp', { status: 204 }, { remoteRef: 'R-1' })
    await expect(s.adapter.deliverFollowUp(sampleFollowUp('R-1'), ctx())).resolves.toBeUndefined()
  })

  it('maps polled events with typeMap: local times are +08:00, unknown statuses skipped with a debug log', async () => {
    s.intercept('fetchStatus', undefined, { remoteRef: 'XY-2026-0001' })
    const events = await s.adapter.fetchStatus!('XY-2026-0001', ctx())
    expect(events).toEqual([
      { type: 'accepted', at: '2026-03-02T01:30:00.000Z', remoteId: 'e1', data: {} },
      { type: 'in_review', at: '2026-03-02T01:31:00.000Z', remoteId: 'e3', data: {} },
    ])
    expect(s.logs).toContainEqual(
      expect.objectContaining({ level: 'debug', obj: expect.objectContaining({ legacyStatus: 'ARCHIVED' }) }),
    )
  })

  it('derives event ids from the content when the system has none, and maps event data', async () => {
    const custom = make({
      mapping: {
        status: {
          events: 'rows',
          type: 'zt',
          at: 'sj',
          id: null,
          data: { reason: 'yj' },
          typeMap: { '3': 'rejected' },
        },
      },
    })
    custom.mock
      .get(origin)
      .intercept({ path: '/api/cases/R-9/status', method: 'GET' })
      .reply(200, { rows: [{ zt: 3, sj: '2026-03-04T10:00:00+08:00', yj: '材料不全' }] })
      .times(2)
    const a = await custom.adapter.fetchStatus!('R-9', ctx())
    const b = await custom.adapter.fetchStatus!('R-9', ctx())
    expect(a).toEqual([
      {
        type: 'rejected',
        at: '2026-03-04T02:00:00.000Z',
        remoteId: expect.stringMatching(/^sha256:[0-9a-f]{32}$/),
        data: { reason: '材料不全' },
      },
    ])
    expect(b[0]!.remoteId).toBe(a[0]!.remoteId)
    await custom.adapter.close()
    await custom.mock.close()
  })

  it('refuses a status answer without an event array non-retryably', async () => {
    s.intercept('fetchStatus', { status: 200, body: { code: '200', data: {} } }, { remoteRef: 'R-1' })
    expect(await failure(s.adapter.fetchStatus!('R-1', ctx()))).toMatchObject({ retryable: false })
  })
})

describe('rest adapter: settings', () => {
  const http = () => new HttpClient(restHttpOptions(settings))

  it('fills documented defaults', () => {
    const parsed = RestSettings.parse(settings)
    expect(parsed.paths).toEqual({
      submit: '/api/cases',
      followUp: '/api/cases/{ref}/events',
      status: '/api/cases/{ref}/status',
      health: '/api/health',
    })
    expect(parsed.mapping.response).toEqual({ ref: 'data.caseNo', code: 'code', okCodes: ['0', '200'] })
    expect(parsed.mapping.status).toMatchObject({ events: 'data.events', type: 'status', at: 'time', id: 'id' })
    expect(parsed.pollIntervalSeconds).toBe(60)
    expect(parsed.allowPrivateAddresses).toBe(false)
    expect(parsed.mapping.request['applicant.certNo']).toBe('applicant.idNumber')
  })

  it('names the missing secret variable, never a value', () => {
    const run = () => createRestAdapter(settings, { http: http(), logger: captureLogger().logger, env: {} })
    expect(run).toThrow(/XY_APP_SECRET/)
    expect(() =>
      createRestAdapter(settings, { http: http(), logger: captureLogger().logger, env: { XY_APP_SECRET: '' } }),
    ).toThrow(/XY_APP_SECRET.*not set/)
  })

  it('reads the secret from process.env by default', () => {
    process.env.TONGBAN_TEST_REST_SECRET = 'x'
    try {
      const a = createRestAdapter(
        { ...settings, appSecretEnv: 'TONGBAN_TEST_REST_SECRET' },
        { http: http(), logger: captureLogger().logger },
      )
      expect(a.kind).toBe('rest')
    } finally {
      delete process.env.TONGBAN_TEST_REST_SECRET
    }
  })

  describe('appSecretFile', () => {
    let dir: string
    beforeEach(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'tongban-rest-secret-'))
    })
    afterEach(() => rmSync(dir, { recursive: true, force: true }))
    const { appSecretEnv: _env, ...withoutEnv } = settings

    it('signs with the secret read from the file (one trailing newline ignored), and never logs it', async () => {
      const file = path.join(dir, 'xy-secret')
      writeFileSync(file, `${SECRET}\n`)
      const { mock, http } = conformanceHttpClient(origin)
      const { logger, entries } = captureLogger()
      const adapter = createRestAdapter({ ...withoutEnv, appSecretFile: file }, { http, logger, env: {} })
      // Read when the adapter is built: a later change of the file does not reach it.
      writeFileSync(file, 'changed')
      const calls = mockIntercept(mock, origin, routes)('deliverCase')
      const since = Date.now()
      await adapter.deliverCase(sampleCase(), { idempotencyKey: 'k', signal: new AbortController().signal })
      expect(calls).toHaveLength(1)
      expectSigned(calls[0]!, since)
      expect(JSON.stringify(entries)).not.toContain(SECRET)
      await adapter.close()
      await mock.close()
    })

    it('names a missing or empty file, never a value', () => {
      const build = (file: string) => () =>
        createRestAdapter({ ...withoutEnv, appSecretFile: file }, { http: http(), logger: captureLogger().logger, env })
      const missing = path.join(dir, 'nope')
      expect(build(missing)).toThrow(`rest adapter: cannot read the secret file ${missing} (appSecretFile): ENOENT`)
      const empty = path.join(dir, 'empty')
      writeFileSync(empty, '\n')
      expect(build(empty)).toThrow(/empty/)
    })

    it('takes exactly one of appSecretEnv and appSecretFile', () => {
      const file = path.join(dir, 'xy-secret')
      writeFileSync(file, SECRET)
      for (const bad of [withoutEnv, { ...settings, appSecretFile: file }]) {
        expect(RestSettings.safeParse(bad).success).toBe(false)
        expect(() => createRestAdapter(bad, { http: http(), logger: captureLogger().logger, env })).toThrow(
          'appSecretEnv: exactly one of appSecretEnv and appSecretFile',
        )
      }
      expect(RestSettings.safeParse({ ...withoutEnv, appSecretFile: file }).success).toBe(true)
      expect(() => RestSettings.parse({ ...withoutEnv, appSecretFile: '' })).toThrow()
    })
  })

  it('lists every issue with its path', () => {
    const bad = {
      baseUrl: 'nope',
      appKey: '',
      appSecretEnv: 'not a name',
      paths: { followUp: '/api/events' },
      mapping: { request: { 'a.__proto__.b': 'x' }, status: { typeMap: { x: 'exploded' } } },
      pollIntervalSeconds: 1,
    }
    let message = ''
    try {
      createRestAdapter(bad, { http: http(), logger: captureLogger().logger, env })
    } catch (e) {
      message = (e as Error).message
    }
    for (const path of [
      'baseUrl',
      'appKey',
      'appSecretEnv',
      'paths.followUp',
      'mapping.request',
      'mapping.status.typeMap.x',
      'pollIntervalSeconds',
    ]) {
      expect(message).toContain(`${path}`)
    }
  })
})
