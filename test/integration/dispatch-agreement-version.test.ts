/**
 * A case keeps the agreement version it was routed under, also for its delivery: the retry policy of that
 * version applies, while a version activated meanwhile applies to the cases routed after it.
 */
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { waitFor } from '../helpers/wait.js'

let t: TestApp
let server: ReturnType<typeof serve> | undefined
const id = 'xiang-shi-sui-shen'

async function edit(retryPolicy: Record<string, number>): Promise<number> {
  const doc = (await t.admin('GET', `/v1/admin/agreements/${id}/versions`)).body.versions.at(-1).agreement
  const created = await t.admin('POST', `/v1/admin/agreements/${id}/versions`, { agreement: { ...doc, retryPolicy } })
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  const activated = await t.admin('POST', `/v1/admin/agreements/${id}/versions/${created.body.version}/activate`)
  expect(activated.status, JSON.stringify(activated.body)).toBe(200)
  return created.body.version
}

beforeAll(async () => {
  t = await createTestApp({ workers: true })
  // 襄阳's system is down for good: every delivery ends as a dead letter after its policy's attempts.
  const app = new Hono()
  app.all('*', (c) => c.json({ error: 'down' }, 503))
  const url = await new Promise<string>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(`http://127.0.0.1:${info.port}`),
    )
  })
  const bound = await t.admin('PUT', '/v1/admin/bindings/420600', {
    adapter: 'sim',
    settings: { baseUrl: url },
    circuit: { failureThreshold: 100, openSeconds: 1 },
  })
  expect(bound.status, JSON.stringify(bound.body)).toBe(200)
  // 湖北 province-wide would route the same cases: suspended, so that 襄十随神 alone does.
  expect((await t.admin('POST', '/v1/admin/agreements/hubei-province-wide/versions/1/suspend')).status).toBe(200)
})
afterAll(async () => {
  await t?.close()
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()))
})

describe('delivery under the version a case was routed under', () => {
  it('keeps the attempts of its own version after a new version is activated', async () => {
    const operator = await t.operator('420303', 'ZW-V-01')
    const first = await edit({ attempts: 2, backoffMs: 1500, maxAgeHours: 1 })
    const a = await operator.call('POST', '/v1/cases', hukouCertificate({ externalRef: 'V-A' }), {
      'idempotency-key': 'v-a',
    })
    expect(a.status, JSON.stringify(a.body)).toBe(201)
    expect(a.body.case.agreement).toEqual({ id, version: first })
    // While case A waits for its second attempt, a version with more attempts and a short backoff goes live.
    const second = await edit({ attempts: 3, backoffMs: 100, maxAgeHours: 1 })
    const b = await operator.call('POST', '/v1/cases', hukouCertificate({ externalRef: 'V-B' }), {
      'idempotency-key': 'v-b',
    })
    expect(b.body.case.agreement).toEqual({ id, version: second })

    const letterOf = (caseId: string) => async () =>
      (
        (await t.admin('GET', '/v1/admin/dead-letters')).body.deadLetters as { caseId: string; attempts: number }[]
      ).find((d) => d.caseId === caseId)
    const letterA = await waitFor('case A dead-lettered', letterOf(a.body.case.id), 30_000)
    const letterB = await waitFor('case B dead-lettered', letterOf(b.body.case.id), 30_000)
    expect(letterA.attempts).toBe(2)
    expect(letterB.attempts).toBe(3)
  })
})
