/**
 * Alerts are on from the first start, without configuration: a gateway whose workers start over a database
 * holding an open dead letter and an overdue case logs both as warnings by itself (the `alerts` schedule
 * runs at once when it is first made; nobody calls `checkAlerts`), and `/metrics` counts them, in that
 * process and in the others (the figures are kept in Redis for the gateway).
 */
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/app.js'
import { createLogger } from '../../src/logger.js'
import { createRuntime, type Runtime } from '../../src/main.js'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { waitFor } from '../helpers/wait.js'

let t: TestApp
let shiyan: TestClient
let xiangyang: TestClient
let second: Runtime | undefined

beforeAll(async () => {
  t = await createTestApp({ now: '2026-09-29T09:00:00+08:00' })
  shiyan = await t.client('shiyan-gov', ['420303'])
  xiangyang = await t.client('xiangyang-gov', ['420600'])
})

afterAll(async () => {
  await second?.close()
  await t?.close()
})

async function scrape(app: { request(p: string): Response | Promise<Response> }): Promise<string> {
  const res = await app.request('/metrics')
  expect(res.status).toBe(200)
  return res.text()
}

describe('alerts from the first start', () => {
  it('a process starting over an open dead letter and an overdue case warns of both by itself', async () => {
    // A case accepted Tue 29 Sep 09:00 with 1 working day: due Wed 30 Sep.
    const created = await shiyan.call('POST', '/v1/cases', JSON.stringify(hukouCertificate()), {
      'idempotency-key': 'alerts-start-1',
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const id: string = created.body.case.id
    await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched', {}, { remoteRef: 'XY-ALERT-1' })
    const accepted = await xiangyang.call('POST', `/v1/cases/${id}/events`, { type: 'accepted' })
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201)
    // (No scrape before the sweep: scrapes share one read of the case counts for 10 s.)

    // Thu 8 Oct: its overdue timer is due; the sweep fires it (the warning first).
    t.clock.set('2026-10-08T09:00:00+08:00')
    expect(await t.runtime.sweepTimers()).toBe(2)
    const types = (await shiyan.call('GET', `/v1/cases/${id}/events`)).body.events.map((e: { type: string }) => e.type)
    expect(types.slice(-2)).toEqual(['deadline_warning', 'overdue'])
    expect(await scrape(t.app)).toContain('tongban_cases_overdue 1')

    await t.runtime.deadLetters.add({
      caseId: id,
      kind: 'event',
      region: '420303',
      adapter: 'sim',
      reason: 'event 3: refused',
      attempts: 5,
    })

    // The gateway's workers start now (the test's runtime runs none), with the same configuration (no
    // alert settings) and a logger that keeps its lines.
    const lines: Record<string, unknown>[] = []
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)))
        done()
      },
    })
    second = await createRuntime(t.config, createLogger('info', sink), { clock: t.clock, workers: true })
    const alerts = await waitFor('the start-up alert warnings', async () => {
      const found = lines.filter((l) => l.alert !== undefined)
      return found.some((l) => l.alert === 'dead_letters') && found.some((l) => l.alert === 'overdue_cases') && found
    })
    expect(alerts.find((l) => l.alert === 'dead_letters')).toMatchObject({ level: 40, count: 1 })
    expect(alerts.find((l) => l.alert === 'overdue_cases')).toMatchObject({ level: 40, count: 1 })
    // Nothing else is alarming: no circuit open, no key near expiry, nothing refused or missing.
    expect(alerts.map((l) => l.alert).sort()).toEqual(['dead_letters', 'overdue_cases'])
    // Identity numbers stay out of the log.
    expect(JSON.stringify(lines)).not.toContain(hukouCertificate().applicant.idNumber)

    const text = await scrape(createApp(second.deps))
    expect(text).toContain('tongban_alert{kind="dead_letters"} 1')
    expect(text).toContain('tongban_alert_warnings_total{kind="dead_letters"} 1')
    expect(text).toContain('tongban_alert{kind="overdue_cases"} 1')
    expect(text).toContain('tongban_cases_overdue 1')
    // The check ran in the workers' process; the API process reports its figures all the same.
    const api = await scrape(t.app)
    expect(api).toContain('tongban_alert{kind="dead_letters"} 1')
    expect(api).toContain('tongban_alert{kind="overdue_cases"} 1')
  })
})
