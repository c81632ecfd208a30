/**
 * A city system written only from PROTOCOL.md (test/helpers/client-assertion.ts imports nothing of the
 * gateway) against a real `tongban serve` process on PostgreSQL and Redis: registration by the CLI,
 * submission, receipt verification with the published keys, replay, reads, refusals; the audit of the
 * hash chains catching a superuser's edit; key rotation keeping old receipts verifiable; and the outbox
 * surviving a gateway killed between commit and enqueue.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Queue } from 'bullmq'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hukouCertificate } from '../fixtures/cases.js'
import { bodySha256, type ClientKey, newClientKey, signAssertion } from '../helpers/client-assertion.js'
import { scratchDatabase, sqlQuery } from '../helpers/db.js'
import { runCli, startGateway, stopAllGateways } from '../helpers/process.js'
import { cleanQueuePrefix, testQueuePrefix, testRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

const cleanups: (() => Promise<unknown>)[] = []
let env: Record<string, string>
let databaseUrl: string
let key: ClientKey

const sql = sqlQuery as (url: string, text: string, params?: unknown[]) => Promise<any[]>

beforeAll(async () => {
  const db = await scratchDatabase('e2e')
  databaseUrl = db.url
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tongban-e2e-'))
  const prefix = testQueuePrefix()
  env = {
    DATABASE_URL: databaseUrl,
    TONGBAN_DATA_DIR: dataDir,
    QUEUE_PREFIX: prefix,
    GATEWAY_ID: 'gw-420300',
    REDIS_URL: testRedisUrl,
  }
  cleanups.push(
    () => db.drop(),
    () => rm(dataDir, { recursive: true, force: true }),
    () => cleanQueuePrefix(prefix),
  )
  key = await newClientKey()
  const jwksFile = path.join(dataDir, 'client-jwks.json')
  await writeFile(jwksFile, JSON.stringify(key.jwks))
  const added = await runCli(
    ['clients', 'add', '--id', 'zhangwan-system', '--regions', '420303', '--jwks', jwksFile],
    env,
  )
  expect(added.code, added.stderr).toBe(0)
  const listed = await runCli(['clients', 'list'], env)
  expect(listed.stdout).toMatch(/zhangwan-system\s+active\s+420303/)
}, 60_000)
afterAll(async () => {
  await stopAllGateways()
  for (const c of cleanups.reverse()) await c()
})

async function send(url: string, method: string, p: string, body?: string, headers: Record<string, string> = {}) {
  const assertion = await signAssertion({
    clientId: 'zhangwan-system',
    key,
    audience: 'gw-420300',
    method,
    pathAndQuery: p,
    ...(body !== undefined ? { body } : {}),
  })
  const res = await fetch(`${url}${p}`, {
    method,
    headers: {
      authorization: `Bearer ${assertion}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body } : {}),
  })
  return { status: res.status, headers: res.headers, body: (await res.json()) as any }
}

describe('a city system written from PROTOCOL.md', () => {
  it('submits, verifies its receipt, replays safely, reads, is refused; the audit catches an edit; rotation keeps receipts valid', async () => {
    const gw = await startGateway(env)
    let receipt: string
    let caseId: string
    try {
      const body = JSON.stringify(hukouCertificate())
      const created = await send(gw.url, 'POST', '/v1/cases', body, { 'idempotency-key': 'ZW-2026-000123' })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      receipt = created.body.receipt
      caseId = created.body.case.id
      const jwks = (await (await fetch(`${gw.url}/.well-known/jwks.json`)).json()) as any
      const { payload } = await jwtVerify(receipt, createLocalJWKSet(jwks), { typ: 'tongban-receipt+jwt' })
      expect(payload).toMatchObject({ iss: 'gw-420300', sub: caseId, req: bodySha256(body), status: 'submitted' })

      const replay = await send(gw.url, 'POST', '/v1/cases', body, { 'idempotency-key': 'ZW-2026-000123' })
      expect(replay.status).toBe(201)
      expect(replay.headers.get('idempotent-replayed')).toBe('true')
      expect(replay.body.case.id).toBe(caseId)

      const read = await send(gw.url, 'GET', `/v1/cases/${caseId}`)
      expect(read.body).toMatchObject({ id: caseId, scope: 'cross_city' })
      // The gateway's workers deliver it meanwhile (no system is bound: the default manual adapter).
      expect(['submitted', 'dispatched']).toContain(read.body.status)
      const timeline = await send(gw.url, 'GET', `/v1/cases/${caseId}/events`)
      expect(timeline.body.events[0].type).toBe('submitted')
      const forbidden = await send(
        gw.url,
        'POST',
        '/v1/cases',
        JSON.stringify(hukouCertificate({ originRegion: '420302' })),
        {
          'idempotency-key': 'other-origin',
        },
      )
      expect(forbidden.status).toBe(403)
      const processing = await send(gw.url, 'POST', `/v1/cases/${caseId}/events`, JSON.stringify({ type: 'accepted' }))
      expect(processing.status).toBe(403)
    } finally {
      expect(await gw.stop()).toBe(0)
    }

    const clean = await runCli(['audit', 'verify'], env)
    expect(clean.code, clean.stderr).toBe(0)
    expect(clean.stdout).toContain('0 broken chain(s)')
    // Every event carries the gateway's proof (docs/trust.md), checked against its key set.
    expect(clean.stdout).toMatch(/[1-9]\d* event\(s\) proven, 0 unproven \(before proofs\), 0 proof or meaning problem/)
    // A superuser edits history: the trigger refuses it, so they disable the trigger first.
    await expect(
      sql(databaseUrl, `update case_events set actor = 'someone-else' where case_id = $1`, [caseId]),
    ).rejects.toThrow(/append-only/)
    await sql(databaseUrl, 'alter table case_events disable trigger user')
    await sql(
      databaseUrl,
      `update case_events set data = jsonb_set(data, '{dueDate}', '"2027-01-01"') where case_id = $1`,
      [caseId],
    )
    await sql(databaseUrl, 'alter table case_events enable trigger user')
    const broken = await runCli(['audit', 'verify', caseId], env)
    expect(broken.code).toBe(1)
    expect(broken.stdout).toContain(`BROKEN ${caseId} at seq 1: hash mismatch`)

    const rotated = await runCli(['keys', 'rotate'], env)
    expect(rotated.code, rotated.stderr).toBe(0)
    const after = await startGateway(env)
    try {
      const jwks = (await (await fetch(`${after.url}/.well-known/jwks.json`)).json()) as any
      expect(jwks.keys.map((k: { alg: string }) => k.alg)).toEqual(['ES256', 'ES256', 'SM2'])
      await jwtVerify(receipt, createLocalJWKSet(jwks), { typ: 'tongban-receipt+jwt' })
      const fresh = await send(
        after.url,
        'POST',
        '/v1/cases',
        JSON.stringify(hukouCertificate({ externalRef: 'after-rotation' })),
        {
          'idempotency-key': 'after-rotation',
        },
      )
      expect(fresh.status).toBe(201)
      const header = JSON.parse(Buffer.from(fresh.body.receipt.split('.')[0], 'base64url').toString())
      expect(header.kid).toBe(jwks.keys[0].kid)
      expect(header.kid).not.toBe(JSON.parse(Buffer.from(receipt.split('.')[0] as string, 'base64url').toString()).kid)
    } finally {
      await after.stop()
    }
  }, 120_000)

  it('keeps every committed case when the gateway dies before enqueueing: the next one relays each exactly once', async () => {
    // (Only the dispatch rows count: deliveries made meanwhile add case.event rows of their own.)
    // Redis is unreachable, so nothing committed can reach the queue; window operators (tokens, no Redis needed) submit.
    const token = (
      await runCli(['tokens', 'create', '--role', 'operator', '--region', '420303', '--window', 'ZW-01'], env)
    ).stdout.trim()
    const down = await startGateway({ ...env, REDIS_URL: 'redis://127.0.0.1:1' })
    const ids: string[] = []
    try {
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${down.url}/v1/cases`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'idempotency-key': `crash-${i}`,
          },
          body: JSON.stringify(hukouCertificate({ externalRef: `crash-${i}` })),
        })
        expect(res.status).toBe(201)
        ids.push(((await res.json()) as any).case.id)
      }
    } finally {
      await down.stop('SIGKILL')
    }
    expect(
      (await sql(databaseUrl, 'select count(*)::int as n from outbox where topic = $1', ['case.dispatch']))[0].n,
    ).toBe(5)

    const up = await startGateway(env)
    const queue = new Queue('case.dispatch', { connection: { url: testRedisUrl }, prefix: env.QUEUE_PREFIX })
    try {
      const pending = () =>
        sql(databaseUrl, 'select topic, key, created_at from outbox where topic = $1', ['case.dispatch'])
      // On a timeout the assertion below says what is left and what the gateway logged.
      await waitFor('the outbox relayed', async () => (await pending()).length === 0, 60_000).catch(() => undefined)
      expect(await pending(), up.output().slice(-3000)).toEqual([])
      for (const id of ids) expect((await queue.getJob(id))?.data).toEqual({ caseId: id })
      const jobs = await queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed'])
      const crashJobs = jobs.filter((j) => ids.includes(j.id as string))
      expect(crashJobs).toHaveLength(5)
    } finally {
      await queue.close()
      await up.stop()
    }
  }, 120_000)
})
