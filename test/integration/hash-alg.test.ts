/**
 * HASH_ALG: a deployment that moves from SHA-256 to SM3 keeps one chain per case whose links record the digest
 * each was made with; the timeline, `tongban audit verify` (auditChains) and the evidence verifier read it, and
 * an edit of an SM3 link is caught like one of a SHA-256 link.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { canonicalJson } from '../../src/domain/hash-chain.js'
import { createLogger } from '../../src/logger.js'
import { loadSecrets } from '../../src/main.js'
import { gatewayEventProver } from '../../src/security/event-proofs.js'
import { auditChains } from '../../src/services/audit.js'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import type { EvidenceBundle } from '../../src/services/results/evidence.js'
import { verifyEvidence } from '../../src/services/results/verify-evidence.js'
import { PgCaseStore } from '../../src/store/case-store.js'
import { hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { sqlQuery } from '../helpers/db.js'

let t: TestApp
let shiyan: TestClient
let xiangyang: TestClient
let id: string

beforeAll(async () => {
  // The gateway starts on SHA-256 (whatever the environment says), then the setting changes to SM3.
  t = await createTestApp({ env: { HASH_ALG: 'sha256' } })
  shiyan = await t.client('shiyan-hash', ['420300'])
  xiangyang = await t.client('xiangyang-hash', ['420600'])
  const res = await shiyan.call('POST', '/v1/cases', hukouCertificate({ externalRef: 'HASH-1' }), {
    'idempotency-key': 'hash-1',
  })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  id = res.body.case.id
  await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched', { adapter: 'manual' })
  // The same database and keys, as a gateway restarted with HASH_ALG=sm3 would use them.
  const { keys } = await loadSecrets(t.config, createLogger('silent'))
  const sm3 = new PgCaseStore(t.runtime.database, { prover: gatewayEventProver(t.gatewayId, keys), hashAlg: 'sm3' })
  const before = t.runtime.deps.cases.cases
  t.runtime.deps.cases.cases = sm3
  try {
    for (const type of ['accepted', 'in_review']) {
      const posted = await xiangyang.call('POST', `/v1/cases/${id}/events`, { type })
      expect(posted.status, JSON.stringify(posted.body)).toBe(201)
    }
  } finally {
    t.runtime.deps.cases.cases = before
  }
}, 120_000)
afterAll(async () => {
  await t?.close()
})

describe('a chain that spans HASH_ALG=sha256 → sm3', () => {
  it('records each link’s algorithm, and SM3 links are SM3 of the canonical event', async () => {
    const res = await xiangyang.call('GET', `/v1/cases/${id}/events`)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const events = res.body.events as { seq: number; hashAlg: string; hash: string; prevHash: string }[]
    expect(events.map((e) => [e.seq, e.hashAlg])).toEqual([
      [1, 'sha256'],
      [2, 'sha256'],
      [3, 'sm3'],
      [4, 'sm3'],
    ])
    const stored = await t.runtime.deps.cases.cases.events(id)
    const third = stored.find((e) => e.seq === 3)!
    const canonical = canonicalJson({
      caseId: id,
      seq: 3,
      type: third.type,
      at: third.at.toISOString(),
      actor: third.actor,
      data: third.data,
      prevHash: third.prevHash,
    })
    expect(third.hash).toBe(createHash('sm3').update(canonical, 'utf8').digest('hex'))
    expect(third.prevHash).toBe(events[1]!.hash)
  })

  it('verifies with tongban audit verify and in the evidence bundle', async () => {
    const report = await auditChains(new PgCaseStore(t.runtime.database), { caseId: id })
    expect(report).toEqual({ checked: 1, events: 4, breaks: [] })
    const res = await shiyan.call('GET', `/v1/cases/${id}/evidence`)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const bundle = res.body as EvidenceBundle
    expect(bundle.events.map((e) => e.hashAlg)).toEqual(['sha256', 'sha256', 'sm3', 'sm3'])
    const jwks = (await t.call('GET', '/.well-known/jwks.json')).body
    const verdict = verifyEvidence(bundle, jwks)
    expect(verdict.problems).toEqual([])
    expect(verdict.checked.join('; ')).toContain('hash chain of 4 event(s)')
  })

  it('catches an edit of an SM3 link, in the database and in a bundle', async () => {
    const res = await shiyan.call('GET', `/v1/cases/${id}/evidence`)
    const bundle = structuredClone(res.body as EvidenceBundle)
    bundle.events[2]!.data = { note: '篡改' }
    const verdict = verifyEvidence(bundle, (await t.call('GET', '/.well-known/jwks.json')).body)
    expect(verdict.valid).toBe(false)
    expect(verdict.problems.map((p) => p.where)).toContain('events[seq=3]')
    // Relabelling the SM3 link as SHA-256 is caught too: its hash is not SHA-256 of the event.
    const relabelled = structuredClone(res.body as EvidenceBundle)
    relabelled.events[3]!.hashAlg = 'sha256'
    const second = verifyEvidence(relabelled, (await t.call('GET', '/.well-known/jwks.json')).body)
    expect(second.problems.map((p) => p.where)).toContain('events[seq=4]')

    // The owner's rewrite (the runtime role could not): trigger off, the SM3 event's data changed, trigger on.
    expect(id).toMatch(/^[A-Za-z0-9-]+$/)
    await sqlQuery(
      t.databaseUrl,
      `ALTER TABLE case_events DISABLE TRIGGER case_events_no_update_delete;
       UPDATE case_events SET data = '{"note":"篡改"}' WHERE case_id = '${id}' AND seq = 3;
       ALTER TABLE case_events ENABLE TRIGGER case_events_no_update_delete;`,
    )
    const report = await auditChains(new PgCaseStore(t.runtime.database), { caseId: id })
    expect(report.breaks).toHaveLength(1)
    expect(report.breaks[0]).toMatchObject({ caseId: id, seq: 3 })
    expect(report.breaks[0]!.reason).toMatch(/^hash mismatch/)
  })
})
