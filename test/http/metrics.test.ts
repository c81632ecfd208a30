/** GET /metrics (Prometheus text) on the real runtime, and the alerts that are on from the first start. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { consoleSignIn } from '../helpers/console.js'
import { waitFor } from '../helpers/wait.js'

let t: TestApp
let shiyan: TestClient

beforeAll(async () => {
  t = await createTestApp()
  shiyan = await t.client('shiyan-gov', ['420300'])
})

afterAll(async () => {
  await t?.close()
})

async function scrape(): Promise<string> {
  const res = await t.app.request('/metrics')
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
  return res.text()
}

describe('GET /metrics', () => {
  it('answers without authentication: requests by route pattern, cases, queues, circuits, alerts, process', async () => {
    const created = await shiyan.call('POST', '/v1/cases', JSON.stringify(hukouCertificate()), {
      'idempotency-key': 'metrics-1',
    })
    expect(created.status).toBe(201)
    const id: string = created.body.case.id
    expect((await shiyan.call('GET', `/v1/cases/${id}`)).status).toBe(200)
    expect((await t.admin('GET', '/v1/cases/0190a0a0-0000-7000-8000-000000000000')).status).toBe(404)
    await t.runtime.circuit.failure('420600', { failureThreshold: 1, openSeconds: 600 }, false)
    // The outbox relay has queued the dispatch (no workers run in this test app).
    await waitFor('the dispatch job', async () => (await scrape()).includes('queue="case.dispatch",state="waiting"} 1'))

    const text = await scrape()
    expect(text).toContain('# TYPE tongban_http_requests_total counter')
    expect(text).toContain('tongban_http_requests_total{method="POST",route="/v1/cases",status="201"} 1')
    expect(text).toContain('tongban_http_requests_total{method="GET",route="/v1/cases/:id",status="200"} 1')
    expect(text).toContain('tongban_http_requests_total{method="GET",route="/v1/cases/:id",status="404"} 1')
    expect(text).toMatch(
      /tongban_http_request_duration_seconds_bucket\{le="\+Inf",method="POST",route="\/v1\/cases",status="201"\} 1/,
    )
    expect(text).toContain('tongban_cases{status="submitted",scope="cross_city",mode="full_online"} 1')
    expect(text).toContain('tongban_cases_overdue 0')
    expect(text).toContain('tongban_cases_materials_overdue 0')
    expect(text).toContain('tongban_alert{kind="materials_overdue"} 0')
    expect(text).toContain('tongban_alert{kind="results_refused"} 0')
    expect(text).toMatch(/tongban_queue_oldest_waiting_seconds\{queue="case.dispatch"\} \d/)
    expect(text).toContain('tongban_queue_jobs{queue="case.deadline",state="delayed"} 0')
    expect(text).toContain('tongban_circuit_state{region="420600"} 2')
    expect(text).toContain('tongban_alert{kind="dead_letters"} 0')
    expect(text).toMatch(/process_cpu_seconds_total \d/)
    expect(text).toMatch(/process_resident_memory_bytes \d+/)
    // Route patterns only: no case id, no identity number.
    expect(text).not.toContain(id)
    expect(text).not.toContain(hukouCertificate().applicant.idNumber)
  })

  it('is in the OpenAPI document as a route anyone may call (`security: []`)', async () => {
    const doc = await t.app.request('/openapi.json')
    const body = (await doc.json()) as { paths: Record<string, { get: { security?: unknown } }> }
    expect(body.paths['/metrics']?.get).toBeDefined()
    expect(body.paths['/metrics']?.get.security).toEqual([])
  })

  it('counts an open dead letter and an open circuit as alerts', async () => {
    const [c] = (await t.runtime.deps.cases.cases.list({ visibleRegions: null, limit: 1 })).cases
    await t.runtime.deadLetters.add({
      caseId: c?.id ?? '',
      kind: 'dispatch',
      region: '420600',
      adapter: 'sim',
      reason: 'test',
      attempts: 3,
    })
    const figures = await t.runtime.metrics.checkAlerts()
    expect(figures).toEqual({
      dead_letters: 1,
      open_circuits: 1,
      overdue_cases: 0,
      materials_overdue: 0,
      results_refused: 0,
      key_expiry: 0,
      stranded_cases: 0,
      signin_failures: 0,
      audit_off_hours: 0,
    })
    const text = await scrape()
    expect(text).toContain('tongban_alert{kind="dead_letters"} 1')
    expect(text).toContain('tongban_alert_warnings_total{kind="dead_letters"} 1')
    expect(text).toContain('tongban_alert{kind="open_circuits"} 1')
  })
})

describe('the queues, for admins', () => {
  it('GET /v1/admin/queues counts the jobs of every queue; the control room shows them; nobody else may look', async () => {
    const created = await shiyan.call('POST', '/v1/cases', JSON.stringify(hukouCertificate({ externalRef: 'Q-1' })), {
      'idempotency-key': 'queues-1',
    })
    expect(created.status).toBe(201)
    // The outbox relay queues each case's dispatch (no workers run in this test app): two cases in this file.
    const dispatchWaiting = async () => {
      const res = await t.admin('GET', '/v1/admin/queues')
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      return res.body.queues.find((q: { queue: string }) => q.queue === 'case.dispatch')
    }
    await waitFor('both dispatch jobs', async () => (await dispatchWaiting())?.counts.waiting === 2)
    const res = await t.admin('GET', '/v1/admin/queues')
    expect(res.body.queues.map((q: { queue: string }) => q.queue).sort()).toEqual([
      'case.deadline',
      'case.dispatch',
      'case.event',
    ])
    const dispatch = res.body.queues.find((q: { queue: string }) => q.queue === 'case.dispatch')
    expect(dispatch.counts).toMatchObject({ waiting: 2, active: 0, failed: 0 })
    expect(dispatch.oldestWaitingSeconds).toBeGreaterThan(0)

    const operator = await t.operator('420303', 'ZW-Q-01')
    expect((await operator.call('GET', '/v1/admin/queues')).status).toBe(403)
    expect((await shiyan.call('GET', '/v1/admin/queues')).status).toBe(403)
    expect((await t.call('GET', '/v1/admin/queues')).status).toBe(401)

    const admin = await consoleSignIn(t, t.adminToken)
    const page = await admin.get('/console/admin/queues')
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toMatch(
      /<tr data-queue="case.dispatch"><th scope="row">办件投递 <span class="mono muted">case.dispatch<\/span><\/th><td>2<\/td><td>0<\/td>/,
    )
    expect(html).toContain('<tr data-queue="case.deadline">')
    expect(html).toContain('href="/console/admin/queues"')
    expect(await (await admin.get('/console/admin')).text()).toContain(
      '<h2><a href="/console/admin/queues">队列</a></h2><p>2 个作业等待</p>',
    )
    const window = await consoleSignIn(t, operator.token)
    expect((await window.get('/console/admin/queues')).status).toBe(403)
  })
})
