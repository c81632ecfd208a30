/**
 * De-duplication that lasts (PROTOCOL 1.1 §4), on the real PostgreSQL: a system client's `externalRef` names
 * one case for ever, whatever the Idempotency-Key and however much later; a `peer` gateway re-driving a case a
 * week later lands on the same remote case (replayed, or adopted from the 409); and migration 0019 keeps the
 * oldest of duplicates that existed before the rule.
 */
import { randomUUID } from 'node:crypto'
import { serve } from '@hono/node-server'
import { CompactSign } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HttpClient } from '../../adapters/_shared/http.js'
import { createPeerAdapter, peerHttpOptions } from '../../adapters/peer/adapter.js'
import type { GatewayIdentity, OutboundCase } from '../../src/ports/region-adapter.js'
import { applicant, hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { newClientKey } from '../helpers/client-assertion.js'

const WEEK_MS = 7 * 24 * 3600_000

let t: TestApp
let shiyan: TestClient
let server: ReturnType<typeof serve> | undefined
let n = 0
const key = () => ({ 'idempotency-key': `x-${n++}` })

const countRef = async (createdBy: string, ref: string) =>
  (
    await t.runtime.database.query<{ n: number }>(
      'select count(*)::int as n from cases where created_by = $1 and external_ref = $2 and parent_id is null',
      [createdBy, ref],
    )
  )[0]?.n

beforeAll(async () => {
  t = await createTestApp()
  shiyan = await t.client('shiyan-ref', ['420300'])
})
afterAll(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()))
  await t?.close()
})

describe('externalRef names one case for ever', () => {
  it('same body: the existing case replayed under any key, a week later too; another body: 409 naming it', async () => {
    const body = JSON.stringify(hukouCertificate({ externalRef: 'ZW-REF-1' }))
    const first = await shiyan.call('POST', '/v1/cases', body, key())
    expect(first.status, JSON.stringify(first.body)).toBe(201)
    const id = first.body.case.id

    // Within the key's 24 h its own rule comes first: the same key with another body is 422.
    const firstKey = { 'idempotency-key': `x-${n - 1}` }
    const changed = JSON.stringify(
      hukouCertificate({ externalRef: 'ZW-REF-1', delivery: { method: 'mail', address: '湖北省十堰市' } }),
    )
    const reused = await shiyan.call('POST', '/v1/cases', changed, firstKey)
    expect(reused.status, JSON.stringify(reused.body)).toBe(422)
    expect(reused.body.code).toBe('idempotency_key_reused')

    t.clock.advance(WEEK_MS)
    const again = await shiyan.call('POST', '/v1/cases', body, key())
    expect(again.status, JSON.stringify(again.body)).toBe(201)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.body.case.id).toBe(id)
    expect(again.body.receipt).toBe(first.body.receipt)
    expect(again.body.case.applicant.idNumber).toBe(applicant.idNumber)

    const conflict = await shiyan.call('POST', '/v1/cases', changed, key())
    expect(conflict.status, JSON.stringify(conflict.body)).toBe(409)
    expect(conflict.body).toMatchObject({ code: 'external_ref_conflict', caseId: id })
    expect(conflict.body.detail).toContain(id)
    expect(JSON.stringify(conflict.body)).not.toContain(applicant.idNumber)
    expect(await countRef('shiyan-ref', 'ZW-REF-1')).toBe(1)
  })

  it('is scoped to the client; an operator’s externalRef is only a label', async () => {
    const body = JSON.stringify(hukouCertificate({ externalRef: 'ZW-REF-2' }))
    const mine = await shiyan.call('POST', '/v1/cases', body, key())
    expect(mine.status, JSON.stringify(mine.body)).toBe(201)
    const other = await t.client('shiyan-ref-other', ['420300'])
    const theirs = await other.call('POST', '/v1/cases', body, key())
    expect(theirs.status, JSON.stringify(theirs.body)).toBe(201)
    expect(theirs.body.case.id).not.toBe(mine.body.case.id)

    const operator = await t.operator('420303', 'ZW-01')
    const a = await operator.call('POST', '/v1/cases', body, key())
    const b = await operator.call('POST', '/v1/cases', body, key())
    expect([a.status, b.status]).toEqual([201, 201])
    expect(b.headers.get('idempotent-replayed')).toBeNull()
    expect(b.body.case.id).not.toBe(a.body.case.id)
  })

  it('a peer gateway re-driving a case a week later lands on the same remote case', async () => {
    // The receiving gateway serves on loopback; the sending side is the real peer adapter, registered there as
    // the system client gw-420300, signing its assertions by the test clock.
    const url = await new Promise<string>((resolve) => {
      server = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
        resolve(`http://127.0.0.1:${info.port}`),
      )
    })
    const peerKey = await newClientKey()
    const registered = await t.admin('POST', '/v1/admin/clients', {
      id: 'gw-420300',
      regions: ['420300'],
      jwks: peerKey.jwks,
    })
    expect(registered.status, JSON.stringify(registered.body)).toBe(201)
    const identity: GatewayIdentity = {
      gatewayId: 'gw-420300',
      sign: (payload, typ) => {
        const iat = Math.floor(t.clock.now().getTime() / 1000)
        return new CompactSign(new TextEncoder().encode(JSON.stringify({ ...payload, iat, exp: iat + 60 })))
          .setProtectedHeader({ alg: 'ES256', kid: peerKey.kid, typ })
          .sign(peerKey.privateKey)
      },
    }
    const settings = { baseUrl: url, gatewayId: t.gatewayId, clientId: 'gw-420300', allowPrivateAddresses: true }
    const silent = { info() {}, warn() {}, error() {}, debug() {} }
    const adapter = createPeerAdapter(settings, {
      http: new HttpClient(peerHttpOptions(settings)),
      identity,
      logger: silent,
    })
    const fixture = hukouCertificate()
    const outbound: OutboundCase = {
      caseId: randomUUID(),
      externalRef: 'ZW-ORIGIN-9',
      item: 'hukou-certificate',
      itemName: '开具户籍类证明',
      mode: 'full_online',
      scope: 'cross_city',
      originRegion: '420303',
      processingRegion: '420600',
      agreement: { id: 'xiang-shi-sui-shen', version: 1 },
      applicant: { ...applicant, phone: applicant.phone },
      agent: null,
      form: fixture.form,
      materials: fixture.materials,
      delivery: { method: 'electronic' },
      dueDate: '2026-10-30',
      submittedAt: t.clock.now().toISOString(),
      receipt: 'x.y.z',
    }
    const ctx = () => ({ idempotencyKey: outbound.caseId, signal: AbortSignal.timeout(10_000) })
    try {
      const first = await adapter.deliverCase(outbound, ctx())
      expect(first.receipt).toEqual(expect.any(String))

      // A week later the Idempotency-Key is long forgotten: an admin re-drives the same case.
      t.clock.advance(WEEK_MS)
      const redriven = await adapter.deliverCase(outbound, ctx())
      expect(redriven.remoteRef).toBe(first.remoteRef)
      expect(redriven.receipt).toBe(first.receipt)

      // Its body changed meanwhile (materials supplied, say): the 409 names the case, and the peer adopts it.
      const changed = { ...outbound, delivery: { method: 'mail' as const, address: '湖北省十堰市' } }
      const adopted = await adapter.deliverCase(changed, ctx())
      expect(adopted).toEqual({ remoteRef: first.remoteRef, receipt: null })
      expect(await countRef('gw-420300', outbound.caseId)).toBe(1)
    } finally {
      await adapter.close()
    }
  })

  // Migration 0019 on a database with earlier duplicates, and the rule after 0033 moved it out of the partitions:
  // test/integration/case-partitions.test.ts (the schema of today cannot be taken back to before 0019).
})
