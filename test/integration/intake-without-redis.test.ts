/**
 * Intake does not need Redis (PROTOCOL §2 replay check kept): a system client's `POST /v1/cases` records its
 * assertion jti in PostgreSQL in the intake's own statement, so submissions go on while Redis is away (other
 * routes answer 503 with Retry-After), and a jti recorded there is refused on its second use whether Redis is
 * up or down, by the single statement and by the group-commit batch alike. A redis-server of this test's own
 * (port 16461) is stopped and started again.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { signAssertion } from '../helpers/client-assertion.js'
import { waitFor } from '../helpers/wait.js'

const PORT = 16461
let redis: ChildProcess | undefined
let t: TestApp
let shiyan: TestClient
let n = 0

async function startRedis(): Promise<void> {
  redis = spawn('redis-server', ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  })
  const { Redis } = await import('ioredis')
  const probe = new Redis(`redis://127.0.0.1:${PORT}`, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  probe.on('error', () => {})
  await waitFor(
    'redis-server up',
    () =>
      probe.connect().then(
        () => true,
        () => false,
      ),
    10_000,
  )
  probe.disconnect()
}

async function stopRedis(): Promise<void> {
  const r = redis
  redis = undefined
  if (!r || r.exitCode !== null) return
  await new Promise<void>((resolve) => {
    r.once('exit', () => resolve())
    r.kill('SIGKILL')
  })
}

/** One signed submission: its assertion, so that the test can send the very same request again. */
async function signedSubmission() {
  const text = JSON.stringify(hukouCertificate())
  const assertion = await signAssertion({
    clientId: shiyan.id,
    key: shiyan.key,
    audience: t.gatewayId,
    method: 'POST',
    pathAndQuery: '/v1/cases',
    body: text,
    now: t.clock.now(),
  })
  const send = (idempotencyKey = `r-${n++}`) =>
    t.call('POST', '/v1/cases', text, { authorization: `Bearer ${assertion}`, 'idempotency-key': idempotencyKey })
  return { send }
}

const jtiRows = async () =>
  (await t.runtime.database.query<{ n: number }>('select count(*)::int as n from client_jtis', []))[0]?.n

beforeAll(async () => {
  await startRedis()
  t = await createTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${PORT}` } })
  shiyan = await t.client('shiyan-noredis', ['420300'])
}, 30_000)
afterAll(async () => {
  await t?.close()
  await stopRedis()
})

describe('intake without Redis', () => {
  it('refuses a submission’s assertion used a second time, from PostgreSQL, under any Idempotency-Key', async () => {
    const before = await jtiRows()
    const { send } = await signedSubmission()
    const first = await send()
    expect(first.status, JSON.stringify(first.body)).toBe(201)
    expect(await jtiRows()).toBe((before ?? 0) + 1)
    for (const again of [await send(), await send('r-other')]) {
      expect(again.status, JSON.stringify(again.body)).toBe(401)
      expect(again.body.detail).toBe('jti already used')
    }
  })

  it('the same assertion sent at once: one case, the others refused (group commit)', async () => {
    const { send } = await signedSubmission()
    const answers = await Promise.all(Array.from({ length: 6 }, () => send()))
    const statuses = answers.map((a) => a.status).sort()
    expect(statuses, JSON.stringify(answers.map((a) => a.body))).toEqual([201, 401, 401, 401, 401, 401])
  })

  it('Redis away: submissions are taken, other routes answer 503 with Retry-After, replays still refused', async () => {
    const heldOver = await signedSubmission()
    await stopRedis()
    const during = await signedSubmission()
    const created = await during.send()
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(
      (await shiyan.call('POST', '/v1/cases', JSON.stringify(hukouCertificate()), { 'idempotency-key': `r-${n++}` }))
        .status,
    ).toBe(201)
    const replay = await during.send()
    expect(replay.status, JSON.stringify(replay.body)).toBe(401)

    const read = await shiyan.call('GET', `/v1/cases/${created.body.case.id}`)
    expect(read.status, JSON.stringify(read.body)).toBe(503)
    expect(read.body.code).toBe('not_ready')
    expect(read.headers.get('retry-after')).toBe('5')
    // Committed with its outbox row: dispatched once Redis is back.
    const outbox = await t.runtime.database.query<{ n: number }>(
      "select count(*)::int as n from outbox where key = $1 and topic = 'case.dispatch'",
      [created.body.case.id],
    )
    expect(outbox[0]?.n).toBe(1)

    // Back up: the jti recorded in PostgreSQL while Redis was away is refused still; a fresh one passes.
    await startRedis()
    const after = await during.send(`r-${n++}`)
    expect(after.status, JSON.stringify(after.body)).toBe(401)
    expect((await heldOver.send()).status).toBe(201)
    await waitFor(
      'reads answer again',
      async () => (await shiyan.call('GET', `/v1/cases/${created.body.case.id}`)).status === 200,
      15_000,
    )
  }, 60_000)

  it('retention deletes the jtis whose assertions expired', async () => {
    const kept = await jtiRows()
    expect(kept).toBeGreaterThan(0)
    t.clock.advance(10 * 60_000)
    expect(await t.runtime.deps.cases.cases.pruneJtis(t.clock.now(), 1000)).toBe(kept)
    expect(await jtiRows()).toBe(0)
  })
})
