/**
 * Two gateways that speak SM2 to each other (PROTOCOL §2 (1.1)): 十堰 runs with SIGNING_ALG=SM2, 襄阳 with the
 * default ES256 beside its SM2 key, and each peer binding asks for SM2 (`signingAlg: "SM2"`). 襄阳's city
 * system is the simulator signing with SM2 (`tongban sim --alg SM2`). Cases of all four modes go through, and
 * what crossed between the gateways is signed with SM2 both ways.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { hukouCertificate, hukouSpouse, multiSiteEnterprise } from '../fixtures/cases.js'
import { sqlQuery } from '../helpers/db.js'
import { call, tokenAt, typesOf, useFederation } from '../helpers/federation.js'

const fed = useFederation({
  shiyanEnv: { SIGNING_ALG: 'SM2' },
  signingAlg: 'SM2',
  sim: { alg: 'SM2' },
  waitMs: 60_000,
  startMs: 180_000,
})
const { waitFor } = fed

let operator: string

beforeAll(async () => {
  operator = await tokenAt(fed.shiyan, 'operator', '420303', 'ZW-KSTB-01', '李窗口')
}, 180_000)

const algOf = (jws: unknown) => JSON.parse(Buffer.from(String(jws).split('.')[0] ?? '', 'base64url').toString()).alg

let n = 0
async function submit(body: unknown): Promise<{ id: string; children?: { id: string; processingRegion: string }[] }> {
  const res = await call(fed.shiyan, 'POST', '/v1/cases', body, operator, { 'idempotency-key': `sm2-fed-${n++}` })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body.case
}

/** What 襄阳 stored of 十堰's delivery (the case 十堰's gateway created there) and 十堰 of 襄阳's answer. */
async function crossings(shiyanCaseId: string) {
  const [theirs] = await sqlQuery(
    fed.xiangyang.env.DATABASE_URL!,
    'select id, assertion from cases where external_ref = $1',
    [shiyanCaseId],
  )
  const dispatched = (
    await sqlQuery(
      fed.shiyan.env.DATABASE_URL!,
      "select data from case_events where case_id = $1 and type = 'dispatched'",
      [shiyanCaseId],
    )
  )[0]?.data
  const fromPeer = await sqlQuery(
    fed.shiyan.env.DATABASE_URL!,
    "select assertion from case_events where case_id = $1 and actor = 'client:gw-420600'",
    [shiyanCaseId],
  )
  return { theirs, receipt: dispatched?.receipt, fromPeer: fromPeer.map((r) => r.assertion) }
}

describe('two gateways exchanging SM2 assertions', () => {
  it('online_transfer: the case, its status and its SM2-signed result cross with SM2 both ways; recognised at 十堰', async () => {
    const kase = await submit(hukouSpouse({ agent: undefined, externalRef: 'ZW-SM2-1' }))
    const done = await waitFor('the result recognised at 十堰', async () => {
      const t = await typesOf(fed.shiyan, kase.id, operator)
      return t.includes('recognized') ? t : false
    })
    expect(done).toEqual(['submitted', 'dispatched', 'accepted', 'in_review', 'completed', 'recognized'])
    const result = (await call(fed.shiyan, 'GET', `/v1/cases/${kase.id}/result`, undefined, operator)).body
    expect(algOf(result.result)).toBe('SM2')
    expect(result.verification).toMatchObject({ issuer: 'sim-420600', attested: false })
    expect(algOf(result.verification.recognition)).toBe('SM2')
    const seen = await crossings(kase.id)
    expect(algOf(seen.theirs?.assertion)).toBe('SM2')
    expect(algOf(seen.receipt)).toBe('SM2')
    expect(seen.fromPeer.length).toBeGreaterThan(0)
    for (const a of seen.fromPeer) expect(algOf(a)).toBe('SM2')
  })

  it('full_online: accepted and in review at 襄阳', async () => {
    const kase = await submit(hukouCertificate({ externalRef: 'ZW-SM2-0' }))
    const types = await waitFor('in_review at 十堰', async () => {
      const t = await typesOf(fed.shiyan, kase.id, operator)
      return t.includes('in_review') ? t : false
    })
    expect(types).toEqual(['submitted', 'dispatched', 'accepted', 'in_review'])
    expect(algOf((await crossings(kase.id)).theirs?.assertion)).toBe('SM2')
  })

  it('multi_site: 襄阳’s part through the peer gateway with SM2, 随州’s to staff', async () => {
    const kase = await submit(
      multiSiteEnterprise({ sites: ['420600', '421300'], agent: undefined, externalRef: 'ZW-SM2-3' }),
    )
    const xy = kase.children?.find((c) => c.processingRegion === '420600')
    const sz = kase.children?.find((c) => c.processingRegion === '421300')
    expect(xy && sz).toBeTruthy()
    await waitFor('襄阳’s part in review', async () =>
      (await typesOf(fed.shiyan, xy!.id, operator)).includes('in_review'),
    )
    await waitFor('随州’s part delivered to staff', async () =>
      (await typesOf(fed.shiyan, sz!.id, operator)).includes('dispatched'),
    )
    expect(algOf((await crossings(xy!.id)).theirs?.assertion)).toBe('SM2')
  })

  it('offline_proxy: the shipment notice travels to 襄阳’s system, which then receives and accepts', async () => {
    const kase = await submit(hukouCertificate({ mode: 'offline_proxy', externalRef: 'ZW-SM2-2' }))
    await waitFor('dispatched', async () => (await typesOf(fed.shiyan, kase.id, operator)).includes('dispatched'))
    const shipped = await call(
      fed.shiyan,
      'POST',
      `/v1/cases/${kase.id}/events`,
      { type: 'materials_shipped', data: { carrier: 'EMS', trackingNumber: 'EA123456789CN' } },
      operator,
    )
    expect(shipped.status, JSON.stringify(shipped.body)).toBe(201)
    const types = await waitFor('materials_received and accepted at 十堰', async () => {
      const t = await typesOf(fed.shiyan, kase.id, operator)
      return t.includes('accepted') ? t : false
    })
    expect(types.slice(0, 5)).toEqual([
      'submitted',
      'dispatched',
      'materials_shipped',
      'materials_received',
      'accepted',
    ])
    const seen = await crossings(kase.id)
    for (const a of seen.fromPeer) expect(algOf(a)).toBe('SM2')
  })
})
