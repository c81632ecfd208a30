/**
 * Signed checkpoints witnessed by a peer gateway: a checkpoint is made only when something changed,
 * linked by seq and prev; the witness (a second gateway, served on loopback) stores and countersigns it and
 * refuses a fork; and the database owner's consistent rewrite of a `completed` event (trigger disabled, the
 * chain recomputed with the project's own hash function) passes the plain chain check but is named, case and
 * event, by the checkpoint audit against the witness's copies and by verify-evidence against a bundle's proof.
 */
import { createHash, randomUUID } from 'node:crypto'
import { serve } from '@hono/node-server'
import { CompactSign } from 'jose'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signAssertion } from '../../adapters/peer/assertion.js'
import { eventHash, GENESIS_HASH } from '../../src/domain/hash-chain.js'
import { chainHeadLeafHash, verifyInclusion } from '../../src/domain/merkle.js'
import { createLogger } from '../../src/logger.js'
import { decodeCompact } from '../../src/security/jws.js'
import { auditChains } from '../../src/services/audit.js'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { auditCheckpoints, fetchWitnessCopies } from '../../src/services/checkpoints/audit.js'
import { CHECKPOINT_TYP, checkpointHash, WITNESS_TYP } from '../../src/services/checkpoints/claims.js'
import { makeCheckpoint } from '../../src/services/checkpoints/make.js'
import { sendToWitnesses } from '../../src/services/checkpoints/send.js'
import type { EvidenceBundle } from '../../src/services/results/evidence.js'
import { verifyEvidence } from '../../src/services/results/verify-evidence.js'
import { PgCaseStore } from '../../src/store/case-store.js'
import { PgCheckpointStore } from '../../src/store/checkpoint-store.js'
import { applicant, hukouCertificate, hukouResultClaims } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import type { ClientKey } from '../helpers/client-assertion.js'
import { runCli } from '../helpers/process.js'
import { testRedisUrl } from '../helpers/redis.js'

const WITNESS_PORT = 16421
const witnessUrl = `http://127.0.0.1:${WITNESS_PORT}`
const idHash = createHash('sha256').update(`resident_id:${applicant.idNumber}`).digest('base64url')

let origin: TestApp
let witness: TestApp
let server: ReturnType<typeof serve>
let shiyan: TestClient
let xiangyang: TestClient
let n = 0

beforeAll(async () => {
  // Real time on both sides: the peer adapter signs its assertions with the real clock.
  const now = new Date().toISOString()
  origin = await createTestApp({ now, env: { GATEWAY_ID: 'gw-a', CHECKPOINT_INTERVAL_MS: '0' } })
  witness = await createTestApp({ now, env: { GATEWAY_ID: 'gw-b', CHECKPOINT_INTERVAL_MS: '0' } })
  await new Promise<void>((resolve) => {
    server = serve({ fetch: witness.app.fetch, port: WITNESS_PORT, hostname: '127.0.0.1' }, () => resolve())
  })
  // The origin is registered at the witness as a system client with its gateway keys …
  const registered = await witness.admin('POST', '/v1/admin/clients', {
    id: 'gw-a',
    regions: ['420300'],
    jwks: origin.runtime.keys.jwks(),
  })
  expect(registered.status, JSON.stringify(registered.body)).toBe(201)
  // … and binds a region to the witness through the peer adapter.
  const bound = await origin.admin('PUT', '/v1/admin/bindings/429021', {
    adapter: 'peer',
    settings: { baseUrl: witnessUrl, gatewayId: 'gw-b', clientId: 'gw-a', allowPrivateAddresses: true },
  })
  expect(bound.status, JSON.stringify(bound.body)).toBe(200)
  // The witness is registered at the origin too (as peers are): its countersignatures are verified.
  const back = await origin.admin('POST', '/v1/admin/clients', {
    id: 'gw-b',
    regions: ['429021'],
    jwks: witness.runtime.keys.jwks(),
  })
  expect(back.status, JSON.stringify(back.body)).toBe(201)
  shiyan = await origin.client('shiyan-cp', ['420300'])
  xiangyang = await origin.client('xiangyang-cp', ['420600'])
})

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  await origin?.close()
  await witness?.close()
})

const store = () => new PgCheckpointStore(origin.runtime.database)

async function signWith(key: ClientKey, payload: Record<string, unknown>, typ: string) {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ })
    .sign(key.privateKey)
}

async function submit(): Promise<string> {
  const res = await shiyan.call('POST', '/v1/cases', JSON.stringify(hukouCertificate({ externalRef: `CP-${n}` })), {
    'idempotency-key': `cp-${n++}`,
  })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body.case.id as string
}

/** A case taken to `completed` by 襄阳's signed result (approved). */
async function completedCase(): Promise<string> {
  const id = await submit()
  const remoteRef = randomUUID()
  await recordGatewayEvent(origin.runtime.deps.cases, id, 'dispatched', { adapter: 'manual', remoteRef }, { remoteRef })
  expect((await xiangyang.call('POST', `/v1/cases/${id}/events`, { type: 'accepted' })).status).toBe(201)
  const result = await signWith(
    xiangyang.key,
    hukouResultClaims({ iss: 'xiangyang-cp', sub: id, idHash, decisionNumber: '襄公户证〔2026〕99号' }),
    'tongban-result+jwt',
  )
  const posted = await xiangyang.call('POST', `/v1/cases/${id}/result`, { result })
  expect(posted.status, JSON.stringify(posted.body)).toBe(201)
  return id
}

/** Posts a checkpoint to the witness as gw-a (the peer adapter's own assertion). */
async function handIn(checkpoint: string) {
  const body = JSON.stringify({ checkpoint })
  const assertion = await signAssertion(
    { gatewayId: 'gw-a', sign: (p, typ) => origin.runtime.keys.sign(p, typ) },
    { clientId: 'gw-a', audience: 'gw-b', method: 'POST', url: `${witnessUrl}/v1/checkpoints`, body },
  )
  const res = await fetch(`${witnessUrl}/v1/checkpoints`, {
    method: 'POST',
    headers: { authorization: `Bearer ${assertion}`, 'content-type': 'application/json' },
    body,
  })
  return { status: res.status, body: (await res.json()) as Record<string, any> }
}

describe('checkpoints', () => {
  it('signs one only when something changed, linked by seq and prev, and the witness countersigns each', async () => {
    const id = await submit()
    const first = await origin.runtime.checkpoint()
    expect(first.made?.seq).toBe(1)
    expect(first.countersigned).toEqual({ 'gw-b': 1 })
    const claims = decodeCompact(first.made!.jws)!
    expect(claims.header.typ).toBe(CHECKPOINT_TYP)
    expect(claims.claims).toMatchObject({ iss: 'gw-a', seq: 1, prev: GENESIS_HASH, size: first.made!.size })
    expect((await store().leaves(1)).some((l) => l.caseId === id && l.seq === 1)).toBe(true)

    const idle = await origin.runtime.checkpoint()
    expect(idle.made).toBeNull()
    expect(idle.countersigned).toEqual({ 'gw-b': 0 })

    expect((await xiangyang.call('POST', `/v1/cases/${id}/events`, { type: 'accepted' })).status).toBe(409)
    await recordGatewayEvent(
      origin.runtime.deps.cases,
      id,
      'dispatched',
      { adapter: 'manual', remoteRef: 'R1' },
      {
        remoteRef: 'R1',
      },
    )
    const second = await origin.runtime.checkpoint()
    expect(second.made).toMatchObject({ seq: 2, prev: checkpointHash(first.made!.jws), size: 1 })
    expect(await store().leaves(2)).toEqual([{ caseId: id, seq: 2, head: expect.any(String) }])

    // The origin stored the countersignatures; the witness publishes its copies to anyone.
    const [cs] = await store().countersignatures(2)
    expect(decodeCompact(cs!.countersignature)).toMatchObject({
      header: { typ: WITNESS_TYP },
      claims: { iss: 'gw-b', sub: 'gw-a', seq: 2, hash: second.made!.hash, root: second.made!.root },
    })
    const copies = await witness.call('GET', '/v1/checkpoints/gw-a?after=0')
    expect(copies.status, JSON.stringify(copies.body)).toBe(200)
    expect(copies.body.checkpoints.map((c: { jws: string }) => c.jws)).toEqual([first.made!.jws, second.made!.jws])
    expect(JSON.stringify(copies.body)).not.toContain(applicant.idNumber)
    expect((await witness.call('GET', '/v1/checkpoints/gw-a?after=1')).body.checkpoints).toHaveLength(1)
  })

  it('makes exactly one checkpoint when several processes try at once', async () => {
    await submit()
    const before = (await store().latest())?.seq ?? 0
    const deps = { gatewayId: 'gw-a', clock: origin.clock, store: store(), signer: origin.runtime.keys }
    const made = await Promise.all([
      makeCheckpoint({ caller: null, deps }),
      makeCheckpoint({ caller: null, deps }),
      makeCheckpoint({ caller: null, deps }),
    ])
    expect(made.filter(Boolean)).toHaveLength(1)
    expect((await store().latest())?.seq).toBe(before + 1)
    await origin.runtime.checkpoint()
  })

  it('the witness refuses a fork, a gap, a bad signature and another issuer, and replays an exact repeat', async () => {
    const latest = (await store().latest())!
    const c = decodeCompact(latest.jws)!.claims
    const sign = (claims: Record<string, unknown>) => origin.runtime.keys.sign(claims, CHECKPOINT_TYP)

    const fork = await handIn(await sign({ ...c, root: 'f'.repeat(64) }))
    expect(fork.status, JSON.stringify(fork.body)).toBe(409)
    expect(fork.body.code).toBe('checkpoint_fork')
    const badPrev = await handIn(await sign({ ...c, seq: latest.seq + 1, prev: 'e'.repeat(64) }))
    expect(badPrev.status).toBe(409)
    expect(badPrev.body.code).toBe('checkpoint_fork')
    const gap = await handIn(await sign({ ...c, seq: latest.seq + 3, prev: latest.hash }))
    expect(gap.status).toBe(409)
    expect(gap.body).toMatchObject({ code: 'checkpoint_gap', expectedSeq: latest.seq + 1 })

    const forged = await signWith(shiyan.key, { ...c, seq: latest.seq + 1, prev: latest.hash }, CHECKPOINT_TYP)
    const bad = await handIn(forged)
    expect(bad.status, JSON.stringify(bad.body)).toBe(422)
    expect(bad.body.code).toBe('checkpoint_invalid')
    const notMine = await handIn(await sign({ ...c, iss: 'gw-x', seq: latest.seq + 1, prev: latest.hash }))
    expect(notMine.status).toBe(422)
    expect((await handIn('not.a.jws')).status).toBe(422)

    const again = await handIn(latest.jws)
    expect(again.status, JSON.stringify(again.body)).toBe(200)
    expect(again.body.countersignature).toBe((await store().countersignatures(latest.seq))[0]?.countersignature)
    // A person's token is not a peer gateway; no caller at all is 401.
    expect((await witness.admin('POST', '/v1/checkpoints', { checkpoint: latest.jws })).status).toBe(403)
    expect((await witness.call('POST', '/v1/checkpoints', { checkpoint: latest.jws })).status).toBe(401)
  })

  it('stores no countersignature that does not verify with the witness’s keys or names another checkpoint', async () => {
    await submit()
    const made = (await origin.runtime.checkpoint()).made!
    const claims = { iss: 'gw-b', sub: 'gw-a', seq: made.seq + 1, hash: 'f'.repeat(64), root: made.root, iat: 1 }
    const witnessJwks = witness.runtime.keys.jwks()
    await submit()
    const deps = { gatewayId: 'gw-a', clock: origin.clock, store: store(), signer: origin.runtime.keys }
    const next = (await makeCheckpoint({ caller: null, deps }))!
    const send = (countersignature: string) =>
      sendToWitnesses({
        caller: null,
        deps: {
          gatewayId: 'gw-a',
          clock: origin.clock,
          logger: createLogger('silent'),
          store: store(),
          witnesses: async () => [{ id: 'gw-b', countersign: async () => ({ countersignature }) }],
          witnessKeys: async () => witnessJwks,
        },
      })
    // Signed by the origin's key, not the witness's; then the witness's key over another checkpoint's hash.
    const forged = await origin.runtime.keys.sign({ ...claims, hash: next.hash }, WITNESS_TYP)
    expect(await send(forged)).toEqual({ 'gw-b': 0 })
    expect(await send(await witness.runtime.keys.sign(claims, WITNESS_TYP))).toEqual({ 'gw-b': 0 })
    expect(await store().countersignatures(next.seq)).toEqual([])
    // The real witness then countersigns it on the next tick.
    expect((await origin.runtime.checkpoint()).countersigned).toEqual({ 'gw-b': 1 })
  })

  it('gives the receipt its inclusion proof once a checkpoint covers the case', async () => {
    const id = await submit()
    const before = await shiyan.call('GET', `/v1/cases/${id}/receipt`)
    expect(before.status, JSON.stringify(before.body)).toBe(200)
    expect(before.body.checkpoint).toBeNull()
    await origin.runtime.checkpoint()
    const after = await shiyan.call('GET', `/v1/cases/${id}/receipt`)
    const p = after.body.checkpoint
    expect(p.leaf).toMatchObject({ caseId: id, seq: 1 })
    const root = decodeCompact(p.checkpoint)!.claims.root as string
    expect(verifyInclusion(chainHeadLeafHash(p.leaf), p.index, p.size, p.proof, root)).toBe(true)
    const stranger = await origin.client('stranger-cp', ['110000'])
    expect((await stranger.call('GET', `/v1/cases/${id}/receipt`)).status).toBe(404)
  })

  it('names the case and event of the owner’s consistent rewrite, against the witness and in a bundle', async () => {
    const id = await completedCase()
    await origin.runtime.checkpoint()
    const events = await new PgCaseStore(origin.runtime.database).events(id)
    const completed = events.find((e) => e.type === 'completed')!
    expect(completed.data.outcome).toBe('approved')

    // As the database's owner: the trigger off, the outcome changed, the chain recomputed with our own hash.
    const owner = new pg.Client({ connectionString: origin.databaseUrl })
    await owner.connect()
    try {
      await owner.query('begin')
      await owner.query('alter table case_events disable trigger case_events_no_update_delete')
      let prev = GENESIS_HASH
      for (const e of events) {
        const data = e.seq === completed.seq ? { ...e.data, outcome: 'denied' } : e.data
        const hash = eventHash({ ...e, data, prevHash: prev })
        await owner.query(
          'update case_events set data = $3, prev_hash = $4, hash = $5 where case_id = $1 and seq = $2',
          [id, e.seq, JSON.stringify(data), prev, hash],
        )
        prev = hash
      }
      await owner.query(`update cases set outcome = 'denied' where id = $1`, [id])
      await owner.query('alter table case_events enable trigger case_events_no_update_delete')
      await owner.query('commit')
    } finally {
      await owner.end()
    }

    // The plain chain check is fooled …
    const chains = await auditChains(new PgCaseStore(origin.runtime.database), { caseId: id })
    expect(chains.breaks).toEqual([])
    // … the checkpoints are not: the first event that differs is named, and the witness's copies agree with ours.
    const copies = await fetchWitnessCopies(witnessUrl, 'gw-a')
    expect(copies.copies.length).toBeGreaterThanOrEqual(3)
    const audit = await auditCheckpoints(
      {
        caller: null,
        deps: {
          store: store(),
          verify: async (jws, typ) => ({ payload: { ...(await origin.runtime.keys.verify(jws, typ)).payload } }),
        },
      },
      { witnesses: [copies] },
    )
    expect(audit.findings).toEqual([
      expect.objectContaining({ caseId: id, seq: completed.seq, where: `case ${id} event ${completed.seq}` }),
    ])

    // The command an operator runs says the same, naming the witness it compared with.
    const cli = await runCli(['audit', 'verify', '--witness', witnessUrl], {
      DATABASE_URL: origin.databaseUrl,
      TONGBAN_DATA_DIR: origin.config.dataDir,
      GATEWAY_ID: 'gw-a',
      REDIS_URL: testRedisUrl,
      QUEUE_PREFIX: origin.queuePrefix,
    })
    expect(cli.code, cli.stderr).toBe(1)
    expect(cli.stdout).toContain(`DIFFERS case ${id} event ${completed.seq}:`)
    expect(cli.stdout).toContain(`held by ${witnessUrl}`)
    expect(cli.stdout).toContain('0 broken chain(s)')

    // A bundle fetched now verifies link by link, but its chain head is not the one the checkpoint signed.
    const bundle = (await shiyan.call('GET', `/v1/cases/${id}/evidence`)).body as EvidenceBundle
    expect(bundle.checkpoint?.leaf).toMatchObject({ caseId: id, seq: events.at(-1)!.seq })
    const jwks = (await origin.call('GET', '/.well-known/jwks.json')).body
    const verdict = verifyEvidence(bundle, jwks)
    expect(verdict.valid).toBe(false)
    // The checkpoint catches it (and so do the event proofs and the result's claims: docs/trust.md).
    expect(verdict.problems).toContainEqual(
      expect.objectContaining({
        where: `events[seq=${events.at(-1)!.seq}]`,
        problem: expect.stringContaining('checkpoint'),
      }),
    )

    // Rewriting the stored leaves too does not help: they no longer give the signed root.
    const owner2 = new pg.Client({ connectionString: origin.databaseUrl })
    await owner2.connect()
    try {
      await owner2.query('alter table checkpoint_leaves disable trigger checkpoint_leaves_no_update_delete')
      const rewritten = await new PgCaseStore(origin.runtime.database).events(id)
      for (const e of rewritten) {
        await owner2.query('update checkpoint_leaves set head = $3 where case_id = $1 and event_seq = $2', [
          id,
          e.seq,
          e.hash,
        ])
      }
      await owner2.query('alter table checkpoint_leaves enable trigger checkpoint_leaves_no_update_delete')
    } finally {
      await owner2.end()
    }
    const again = await auditCheckpoints({
      caller: null,
      deps: {
        store: store(),
        verify: async (jws, typ) => ({ payload: { ...(await origin.runtime.keys.verify(jws, typ)).payload } }),
      },
    })
    expect(again.findings.map((f) => f.problem).join('\n')).toContain('do not give the signed root')
  }, 120_000)

  it('an untouched case’s bundle carries a proof that verifies', async () => {
    const id = await completedCase()
    await origin.runtime.checkpoint()
    const bundle = (await shiyan.call('GET', `/v1/cases/${id}/evidence`)).body as EvidenceBundle
    const verdict = verifyEvidence(bundle, (await origin.call('GET', '/.well-known/jwks.json')).body)
    expect(verdict.problems).toEqual([])
    expect(verdict.checked.join('\n')).toContain('signed checkpoint')
  })
})
