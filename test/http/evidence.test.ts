/**
 * Evidence bundles: `GET /v1/cases/{id}/evidence` holds every signed artefact of a case and the
 * gateway's signature over the whole; `tongban verify-evidence` checks it offline with nothing but public
 * keys and names where any edit is. Parties of the case only.
 */
import { createHash, randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { CompactSign } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import type { EvidenceBundle } from '../../src/services/results/evidence.js'
import { verifyEvidence } from '../../src/services/results/verify-evidence.js'
import { applicant, hukouCertificate, hukouResultClaims, multiSiteEnterprise } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import type { ClientKey } from '../helpers/client-assertion.js'
import { runCli } from '../helpers/process.js'

let t: TestApp
let shiyan: TestClient
let xiangyang: TestClient
let peer: TestClient
let dir: string
let jwksFile: string
let n = 0
const idHash = createHash('sha256').update(`resident_id:${applicant.idNumber}`).digest('base64url')
const validCert = '1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U'

beforeAll(async () => {
  t = await createTestApp()
  shiyan = await t.client('shiyan-ev', ['420300'])
  xiangyang = await t.client('xiangyang-ev', ['420600'])
  // A peer gateway that gives a signed receipt on delivery, registered here as a client (its keys known).
  peer = await t.client('gw-peer-ev', ['420600'])
  dir = await mkdtemp(path.join(tmpdir(), 'tongban-evidence-'))
  jwksFile = path.join(dir, 'gateway-jwks.json')
  await writeFile(jwksFile, JSON.stringify((await t.call('GET', '/.well-known/jwks.json')).body))
})
afterAll(async () => {
  await t?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

async function signWith(key: ClientKey, payload: Record<string, unknown>, typ: string) {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ })
    .sign(key.privateKey)
}

/** A case submitted by 十堰's system, delivered through the peer (with its receipt), accepted, decided by 襄阳's system and recognised. */
async function recognisedCase(): Promise<string> {
  const res = await shiyan.call('POST', '/v1/cases', JSON.stringify(hukouCertificate({ externalRef: `EV-${n}` })), {
    'idempotency-key': `ev-${n++}`,
  })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  const id = res.body.case.id as string
  const remoteRef = randomUUID()
  const receipt = await signWith(
    peer.key,
    {
      iss: 'gw-peer-ev',
      sub: remoteRef,
      iat: 1_790_000_000,
      jti: randomUUID(),
      req: 'x'.repeat(43),
      status: 'submitted',
    },
    'tongban-receipt+jwt',
  )
  await recordGatewayEvent(
    t.runtime.deps.cases,
    id,
    'dispatched',
    { adapter: 'peer', remoteRef, receipt },
    { remoteRef },
  )
  expect((await xiangyang.call('POST', `/v1/cases/${id}/events`, { type: 'accepted' })).status).toBe(201)
  const result = await signWith(
    xiangyang.key,
    hukouResultClaims({
      iss: 'xiangyang-ev',
      sub: id,
      idHash,
      decisionNumber: '襄公户证〔2026〕88号',
      certificates: [
        { id: validCert, type: '户籍证明', validFrom: '2026-09-30', validTo: null, sha256: 'a'.repeat(64) },
      ],
    }),
    'tongban-result+jwt',
  )
  const posted = await xiangyang.call('POST', `/v1/cases/${id}/result`, { result })
  expect(posted.status, JSON.stringify(posted.body)).toBe(201)
  return id
}

async function evidence(id: string, who: TestClient = shiyan): Promise<EvidenceBundle> {
  const res = await who.call('GET', `/v1/cases/${id}/evidence`)
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return res.body as EvidenceBundle
}

const trustedJwks = async () => (await t.call('GET', '/.well-known/jwks.json')).body

async function cli(bundle: unknown, ...extra: string[]) {
  const file = path.join(dir, `bundle-${randomUUID()}.json`)
  await writeFile(file, JSON.stringify(bundle))
  const out = await runCli(['verify-evidence', file, ...extra])
  return { ...out, verdict: out.stdout ? JSON.parse(out.stdout) : null }
}

const clone = <T>(x: T): T => structuredClone(x)
const wheres = (v: { problems: { where: string }[] }) => v.problems.map((p) => p.where)

describe('evidence bundle', () => {
  let id: string
  let bundle: EvidenceBundle
  beforeAll(async () => {
    id = await recognisedCase()
    bundle = await evidence(id)
  })

  it('holds every signed artefact of the case, the issuers’ keys, and no identity number', () => {
    expect(bundle).toMatchObject({
      format: 'tongban-evidence/1',
      gateway: 'gw-test',
      case: { id, originRegion: '420303', processingRegion: '420600', applicant: { idType: 'resident_id', idHash } },
      submission: { by: 'client:shiyan-ev', assertion: expect.any(String), bodyHash: expect.any(String) },
      recognition: expect.any(String),
    })
    expect(bundle.receipts.map((r) => r.kind)).toEqual(['intake', 'dispatch'])
    expect(bundle.events.map((e) => e.type)).toEqual(['submitted', 'dispatched', 'accepted', 'completed', 'recognized'])
    expect(bundle.events[0]).toEqual(
      expect.objectContaining({ seq: 1, prevHash: '0'.repeat(64), hash: expect.stringMatching(/^[0-9a-f]{64}$/) }),
    )
    expect(bundle.result).toMatchObject({ issuer: 'xiangyang-ev', attested: false, verification: { valid: true } })
    expect(Object.keys(bundle.keys).sort()).toEqual(['gw-peer-ev', 'gw-test', 'shiyan-ev', 'xiangyang-ev'])
    const text = JSON.stringify(bundle)
    expect(text).not.toContain(applicant.idNumber)
    expect(text).not.toContain(applicant.idNumber.slice(0, 14))
    expect(text).not.toContain(applicant.name)
  })

  it('verifies offline against the gateway’s published keys, in process and with tongban verify-evidence', async () => {
    const verdict = verifyEvidence(bundle, await trustedJwks())
    expect(verdict.problems).toEqual([])
    expect(verdict).toMatchObject({ valid: true, anchor: 'trusted', case: id })
    expect(verdict.checked.join('; ')).toContain('hash chain of 5 event(s)')
    const out = await cli(bundle, '--jwks', jwksFile)
    expect(out.code, out.stderr).toBe(0)
    expect(out.verdict).toMatchObject({ valid: true, anchor: 'trusted', problems: [] })
    // Without --jwks: the bundle's own keys (integrity, not origin), said so.
    const self = await cli(bundle)
    expect(self.code).toBe(0)
    expect(self.verdict.anchor).toBe('bundle')
    expect(self.stderr).toContain('--jwks')
  })

  it('the processing side sees the same case’s evidence; nobody else does (404)', async () => {
    const theirs = await evidence(id, xiangyang)
    expect(verifyEvidence(theirs, await trustedJwks()).valid).toBe(true)
    const stranger = await t.client('hunan-ev', ['430000'])
    const elsewhere = await t.operator('421303', 'SZ-EV')
    for (const who of [stranger, elsewhere]) {
      const res = await who.call('GET', `/v1/cases/${id}/evidence`)
      expect(res.status).toBe(404)
      expect(JSON.stringify(res.body)).not.toContain('420303')
    }
    expect((await shiyan.call('GET', `/v1/cases/${randomUUID()}/evidence`)).status).toBe(404)
    expect((await t.call('GET', `/v1/cases/${id}/evidence`)).status).toBe(401)
  })

  const edits: [string, (b: EvidenceBundle, other: EvidenceBundle) => void, string, string][] = [
    [
      'event data edited',
      (b) => {
        ;(b.events[2] as { data: Record<string, unknown> }).data = { note: 'edited' }
      },
      'events[seq=3]',
      'hash mismatch',
    ],
    ['event removed', (b) => b.events.splice(2, 1), 'events[seq=3]', 'seq 3 missing'],
    [
      'last event removed and the count edited to match',
      (b) => {
        b.events.pop()
        b.case.lastSeq -= 1
      },
      'case',
      'differs from what the gateway signed',
    ],
    [
      'receipt swapped for another case’s',
      (b, other) => {
        ;(b.receipts[0] as { jws: string }).jws = other.receipts[0]?.jws as string
      },
      'receipts[0] (intake).sub',
      'expected',
    ],
    [
      'assertion swapped for another submission’s',
      (b, other) => {
        b.submission.assertion = other.submission.assertion
      },
      'submission.assertion.bsh',
      'expected',
    ],
    [
      'recognition swapped for another case’s',
      (b, other) => {
        b.recognition = other.recognition
      },
      'recognition.sub',
      'expected',
    ],
    [
      'result tampered',
      (b) => {
        const r = b.result as NonNullable<EvidenceBundle['result']>
        const [h, p, s] = r.jws.split('.')
        const claims = JSON.parse(Buffer.from(p as string, 'base64url').toString())
        r.jws = `${h}.${Buffer.from(JSON.stringify({ ...claims, outcome: 'denied' })).toString('base64url')}.${s}`
      },
      'result',
      'signature does not verify',
    ],
    [
      'outer signature broken',
      (b) => {
        const [h, p, s] = b.signature.split('.')
        b.signature = `${h}.${p}.${(s as string).startsWith('A') ? 'B' : 'A'}${(s as string).slice(1)}`
      },
      'signature',
      'signature does not verify',
    ],
    [
      'a member added to an event',
      (b) => {
        ;(b.events[0] as Record<string, unknown>).note = 'approved by phone'
      },
      'events',
      'differs from what the gateway signed',
    ],
    [
      'case status edited',
      (b) => {
        b.case.status = 'rejected'
      },
      'case',
      'differs from what the gateway signed',
    ],
    [
      'the applicant hash edited',
      (b) => {
        b.case.applicant.idHash = 'y'.repeat(43)
      },
      'result',
      'applicant hash',
    ],
  ]

  it.each(edits)('catches an edit: %s, and says where', async (_name, edit, where, problem) => {
    const other = await evidence(await recognisedCase())
    const edited = clone(bundle)
    edit(edited, other)
    const verdict = verifyEvidence(edited, await trustedJwks())
    expect(verdict.valid).toBe(false)
    const hit = verdict.problems.find((p) => p.where === where && p.problem.includes(problem))
    expect(hit, JSON.stringify(verdict.problems)).toBeDefined()
  })

  it('tongban verify-evidence exits 1 and names the place of each edit', async () => {
    const edited = clone(bundle)
    ;(edited.events[1] as { data: Record<string, unknown> }).data.adapter = 'sim'
    const out = await cli(edited, '--jwks', jwksFile)
    expect(out.code).toBe(1)
    expect(wheres(out.verdict)).toEqual(expect.arrayContaining(['events[seq=2]', 'events', 'signature']))
    // A key swapped in the bundle for the attacker's, who re-signed the result: the gateway's signature says no.
    const forged = clone(bundle)
    forged.keys['xiangyang-ev'] = shiyan.key.jwks as unknown as EvidenceBundle['keys'][string]
    const out2 = await cli(forged, '--jwks', jwksFile)
    expect(out2.code).toBe(1)
    expect(wheres(out2.verdict)).toEqual(expect.arrayContaining(['keys', 'result']))
  })

  it('a number no canonical JSON can hold (1e400 reads as Infinity) is a problem, not a crash', async () => {
    const edited = JSON.parse(JSON.stringify(bundle).replace('"seq":1,', '"seq":1,"big":1e400,'))
    const verdict = verifyEvidence(edited, await trustedJwks())
    expect(verdict.valid).toBe(false)
    expect(verdict.problems[0]?.where).toBe('(bundle)')
  })

  it('checked against another gateway’s keys, the bundle is refused', async () => {
    const { keys } = await trustedJwks()
    const stranger = { keys: keys.map((k: Record<string, unknown>) => ({ ...k, kid: `x${k.kid}` })) }
    const verdict = verifyEvidence(bundle, stranger)
    expect(verdict.valid).toBe(false)
    expect(verdict.problems.find((p) => p.where === 'signature')?.problem).toContain('no public key')
  })

  it('a multi-site parent’s bundle names its children; each child’s bundle verifies on its own', async () => {
    const res = await shiyan.call(
      'POST',
      '/v1/cases',
      JSON.stringify(multiSiteEnterprise({ sites: ['420600', '421300'], externalRef: 'EV-multi' })),
      { 'idempotency-key': 'ev-multi' },
    )
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const parent = await evidence(res.body.case.id)
    expect(parent.case.children).toHaveLength(2)
    expect(parent.result).toBeNull()
    const jwks = await trustedJwks()
    expect(verifyEvidence(parent, jwks).problems).toEqual([])
    for (const child of parent.case.children) {
      const b = await evidence(child)
      expect(b.case.parentId).toBe(parent.case.id)
      expect(b.submission.assertion).toBe(parent.submission.assertion)
      expect(verifyEvidence(b, jwks).problems).toEqual([])
    }
  })

  it('a completed parent’s bundle verifies: it has no result of its own, its children’s bundles have theirs', async () => {
    const res = await shiyan.call(
      'POST',
      '/v1/cases',
      JSON.stringify(multiSiteEnterprise({ sites: ['420600', '421300'], externalRef: 'EV-multi-done' })),
      { 'idempotency-key': 'ev-multi-done' },
    )
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const parentId = res.body.case.id as string
    for (const child of res.body.case.children as { id: string; processingRegion: string }[]) {
      await recordGatewayEvent(t.runtime.deps.cases, child.id, 'dispatched', { adapter: 'manual' }, {})
      const staff = await t.operator(child.processingRegion, `EV-${child.processingRegion}`)
      expect((await staff.call('POST', `/v1/cases/${child.id}/events`, { type: 'accepted' })).status).toBe(201)
      const decided = await staff.call('POST', `/v1/cases/${child.id}/result`, {
        outcome: 'approved',
        decision: { number: `EV-${child.processingRegion}`, date: '2026-09-29' },
        trust: 'B',
      })
      expect(decided.status, JSON.stringify(decided.body)).toBe(201)
    }
    const parent = await evidence(parentId)
    expect(parent.events.map((e) => e.type)).toContain('completed')
    expect(parent.result).toBeNull()
    const jwks = await trustedJwks()
    expect(verifyEvidence(parent, jwks).problems).toEqual([])
    for (const child of parent.case.children) {
      const b = await evidence(child)
      expect(b.result).not.toBeNull()
      expect(verifyEvidence(b, jwks).problems).toEqual([])
    }
  })

  it('a window’s case has no assertion; a gateway-attested result binds to it the same way', async () => {
    const window = await t.operator('420303', 'ZW-EV')
    const res = await window.call('POST', '/v1/cases', hukouCertificate({ externalRef: 'EV-window' }), {
      'idempotency-key': 'ev-window',
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const caseId = res.body.case.id as string
    await recordGatewayEvent(t.runtime.deps.cases, caseId, 'dispatched', { adapter: 'sim', remoteRef: 'SIM-1' })
    expect((await xiangyang.call('POST', `/v1/cases/${caseId}/events`, { type: 'accepted' })).status).toBe(201)
    const attested = await xiangyang.call('POST', `/v1/cases/${caseId}/result`, {
      outcome: 'approved',
      decision: { number: '襄公户证〔2026〕89号', date: '2026-09-30' },
      trust: 'B',
    })
    expect(attested.status, JSON.stringify(attested.body)).toBe(201)
    const b = await evidence(caseId, { ...shiyan, call: window.call } as TestClient)
    expect(b.submission).toMatchObject({ by: expect.stringMatching(/^person:/), assertion: null })
    expect(b.receipts).toHaveLength(1)
    expect(b.result).toMatchObject({ issuer: 'gw-test', attested: true })
    const verdict = verifyEvidence(b, await trustedJwks())
    expect(verdict.problems).toEqual([])
  })
})
