/**
 * Two gateways federating on loopback, each a real `tongban serve` process with its own database and
 * queue prefix: 十堰 (gw-420300, where the window is) and 襄阳 (gw-420600, whose city system is the
 * simulator). A case accepted at a 张湾区 window reaches 襄阳's system through the `peer` adapter, and its
 * status comes back; the window's shipment notice reaches the simulator the other way. The simulator signs
 * its results with its own key, registered at both gateways: 襄阳 relays the result and 十堰 recognises it.
 */
import { createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { hukouCertificate, hukouSpouse, multiSiteEnterprise } from '../fixtures/cases.js'
import { call, tokenAt, typesOf, useFederation } from '../helpers/federation.js'
import { runCli } from '../helpers/process.js'

const fed = useFederation({ sim: {}, waitMs: 20_000 })
const { waitFor } = fed

let operator: string

beforeAll(async () => {
  operator = await tokenAt(fed.shiyan, 'operator', '420303', 'ZW-KSTB-01', '李窗口')
}, 120_000)

describe('two gateways through peer adapters', () => {
  // Three CLI processes and several scrypt digests (PROTOCOL 1.1 §5): more than 30 s on a loaded machine.
  it('online_transfer: 十堰 window → 襄阳 gateway → its system; its status and its result come back, recognised at 十堰', async () => {
    const res = await call(
      fed.shiyan,
      'POST',
      '/v1/cases',
      hukouSpouse({ agent: undefined, externalRef: 'ZW-FED-1' }),
      operator,
      {
        'idempotency-key': 'fed-1',
      },
    )
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const id = res.body.case.id
    const origin = await waitFor('accepted and in_review at 十堰', async () => {
      const types = await typesOf(fed.shiyan, id, operator)
      return types.includes('in_review') ? types : false
    })
    expect(origin).toEqual(['submitted', 'dispatched', 'accepted', 'in_review'])
    // 襄阳's system decides and signs the result; 襄阳 hands it back; 十堰 verifies and recognises it.
    const done = await waitFor('the result recognised at 十堰', async () => {
      const t = await typesOf(fed.shiyan, id, operator)
      return t.includes('recognized') ? t : false
    })
    expect(done).toEqual(['submitted', 'dispatched', 'accepted', 'in_review', 'completed', 'recognized'])
    const result = (await call(fed.shiyan, 'GET', `/v1/cases/${id}/result`, undefined, operator)).body
    expect(result.claims).toMatchObject({
      iss: 'sim-420600',
      aud: '420303',
      region: '420600',
      outcome: 'approved',
    })
    expect(result.claims.att).toBeUndefined()
    expect(result.verification).toMatchObject({
      issuer: 'sim-420600',
      attested: false,
      recognition: expect.any(String),
    })
    // Anyone can check it: at 十堰's public verification, and offline with only the simulator's public keys.
    const verdict = await fetch(`${fed.shiyan.gw.url}/v1/results/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ result: result.result }),
    })
    expect(verdict.status).toBe(200)
    expect(await verdict.json()).toMatchObject({ valid: true, reasons: [], issuer: 'sim-420600' })
    const resultFile = path.join(fed.shiyan.dir, `result-${id}.jws`)
    await writeFile(resultFile, result.result)
    const offline = await runCli(['verify', resultFile, '--jwks', path.join(fed.shiyan.dir, 'sim-420600.jwks.json')])
    expect(offline.code, offline.stdout + offline.stderr).toBe(0)
    expect(JSON.parse(offline.stdout)).toMatchObject({ valid: true, issuer: 'sim-420600' })
    const dispatched = (await call(fed.shiyan, 'GET', `/v1/cases/${id}/events`, undefined, operator)).body.events[1]
    expect(dispatched.data.adapter).toBe('peer')
    const remote = dispatched.data.remoteRef as string
    // 襄阳's own case: externalRef = 十堰's case id, created once, delivered to the simulator.
    const theirs = (await call(fed.xiangyang, 'GET', `/v1/cases/${remote}`)).body
    expect(theirs).toMatchObject({
      externalRef: id,
      originRegion: '420303',
      processingRegion: '420600',
      status: 'completed',
    })
    const list = (await call(fed.xiangyang, 'GET', '/v1/cases?limit=200')).body.cases.filter(
      (c: { externalRef: string }) => c.externalRef === id,
    )
    expect(list).toHaveLength(1)
    // At 襄阳 the result is recorded (the simulator's, as it signed it) but recognised at the origin, not there.
    expect(await typesOf(fed.xiangyang, remote)).toEqual([
      'submitted',
      'dispatched',
      'accepted',
      'in_review',
      'completed',
    ])
    const atXiangyang = (await call(fed.xiangyang, 'GET', `/v1/cases/${remote}/result`)).body
    expect(atXiangyang).toMatchObject({
      result: result.result,
      verification: { issuer: 'sim-420600', attested: false },
    })
    // Each side's evidence bundle verifies offline with that gateway's published keys.
    for (const [side, caseId, token] of [
      [fed.shiyan, id, operator],
      [fed.xiangyang, remote, fed.xiangyang.admin],
    ] as const) {
      const bundle = await call(side, 'GET', `/v1/cases/${caseId}/evidence`, undefined, token)
      expect(bundle.status, JSON.stringify(bundle.body)).toBe(200)
      const file = path.join(side.dir, `evidence-${caseId}.json`)
      await writeFile(file, JSON.stringify(bundle.body))
      const checked = await runCli(['verify-evidence', file, '--jwks', `${side.gw.url}/.well-known/jwks.json`])
      expect(checked.code, checked.stdout).toBe(0)
    }
  }, 120_000)

  it('full_online: an online application from 张湾区, accepted and in review at 襄阳', async () => {
    const res = await call(fed.shiyan, 'POST', '/v1/cases', hukouCertificate({ externalRef: 'ZW-FED-0' }), operator, {
      'idempotency-key': 'fed-0',
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const id = res.body.case.id
    const types = await waitFor('in_review at 十堰', async () => {
      const t = await typesOf(fed.shiyan, id, operator)
      return t.includes('in_review') ? t : false
    })
    expect(types).toEqual(['submitted', 'dispatched', 'accepted', 'in_review'])
  })

  it('multi_site: one child per site, 襄阳’s through the peer gateway, 随州’s to staff (no system)', async () => {
    const res = await call(
      fed.shiyan,
      'POST',
      '/v1/cases',
      multiSiteEnterprise({ sites: ['420600', '421300'], agent: undefined, externalRef: 'ZW-FED-3' }),
      operator,
      { 'idempotency-key': 'fed-3' },
    )
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body.case.scope).toBe('cross_city')
    const children = res.body.case.children as { id: string; processingRegion: string }[]
    const xy = children.find((c) => c.processingRegion === '420600') as { id: string }
    const sz = children.find((c) => c.processingRegion === '421300') as { id: string }
    await waitFor('襄阳’s part accepted and in review', async () =>
      (await typesOf(fed.shiyan, xy.id, operator)).includes('in_review'),
    )
    await waitFor('随州’s part delivered to staff', async () =>
      (await typesOf(fed.shiyan, sz.id, operator)).includes('dispatched'),
    )
    const slip = (await call(fed.shiyan, 'GET', `/v1/cases/${sz.id}/events`, undefined, operator)).body.events[1]
    expect(slip.data).toMatchObject({ adapter: 'manual' })
    // 襄阳 saw only its own part: one case, for its region.
    const theirs = (await call(fed.xiangyang, 'GET', '/v1/cases?limit=200')).body.cases.filter(
      (c: { externalRef: string }) => c.externalRef === xy.id,
    )
    expect(theirs).toHaveLength(1)
    expect(theirs[0]).toMatchObject({ mode: 'multi_site', processingRegion: '420600' })

    // 随州's staff record their part at 十堰's gateway (no system there): accepted, then the result.
    const staff = (
      await runCli(
        ['tokens', 'create', '--role', 'operator', '--region', '421300', '--window', 'SZ-SCJ-01', '--name', '随州审批'],
        fed.shiyan.env,
      )
    ).stdout.trim()
    expect((await call(fed.shiyan, 'POST', `/v1/cases/${sz.id}/events`, { type: 'accepted' }, staff)).status).toBe(201)
    const decided = await call(
      fed.shiyan,
      'POST',
      `/v1/cases/${sz.id}/result`,
      { outcome: 'approved', decision: { number: '随市监登〔2026〕7号', date: '2026-10-09' }, trust: 'B' },
      staff,
    )
    expect(decided.status, JSON.stringify(decided.body)).toBe(201)
    // The parent completes when 襄阳's result has come back too, with both results issued together.
    const results = await waitFor('both results issued together', async () => {
      const r = await call(fed.shiyan, 'GET', `/v1/cases/${res.body.case.id}/result`, undefined, operator)
      return r.status === 200 ? r.body : false
    })
    expect(results.results.map((r: { case: string }) => r.case).sort()).toEqual([xy.id, sz.id].sort())
    for (const r of results.results) expect(r.verification.recognition).toEqual(expect.any(String))
    expect((await call(fed.shiyan, 'GET', `/v1/cases/${res.body.case.id}`, undefined, operator)).body.status).toBe(
      'completed',
    )
    const issued = await call(
      fed.shiyan,
      'POST',
      `/v1/cases/${res.body.case.id}/events`,
      { type: 'result_delivered', data: { method: 'window_pickup' } },
      operator,
    )
    expect(issued.status, JSON.stringify(issued.body)).toBe(201)
    for (const id of [xy.id, sz.id]) {
      expect((await call(fed.shiyan, 'GET', `/v1/cases/${id}`, undefined, operator)).body.status).toBe(
        'result_delivered',
      )
    }
  })

  it('materials submitted once: 襄阳 fetches the referenced file from 十堰 (signed, hash checked) on delivery', async () => {
    const pdf = Buffer.from('%PDF-1.7\n% 户口簿 scanned at the 张湾区 window\n%%EOF\n', 'utf8')
    const hash = createHash('sha256').update(pdf).digest('hex')
    const uploaded = await fetch(`${fed.shiyan.gw.url}/v1/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/pdf' },
      body: new Uint8Array(pdf),
    })
    expect(uploaded.status, await uploaded.clone().text()).toBe(201)
    const res = await call(
      fed.shiyan,
      'POST',
      '/v1/cases',
      hukouCertificate({
        externalRef: 'ZW-FED-FILE',
        materials: [
          { code: 'applicant-id-card', form: 'paper' },
          { code: 'hukou-booklet', form: 'electronic', sha256: hash },
        ],
      }),
      operator,
      { 'idempotency-key': 'fed-file' },
    )
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const id = res.body.case.id
    await waitFor('delivered to 襄阳', async () => (await typesOf(fed.shiyan, id, operator)).includes('dispatched'))
    // 襄阳 accepted the delivery only once it held the file: its processing window reads the same bytes there.
    const xyWindow = (
      await runCli(
        ['tokens', 'create', '--role', 'operator', '--region', '420600', '--window', 'XY-01'],
        fed.xiangyang.env,
      )
    ).stdout.trim()
    const got = await fetch(`${fed.xiangyang.gw.url}/v1/files/${hash}`, {
      headers: { authorization: `Bearer ${xyWindow}` },
    })
    expect(got.status).toBe(200)
    expect(Buffer.from(await got.arrayBuffer()).equals(pdf)).toBe(true)
  })

  it('offline_proxy: the shipment notice travels to 襄阳’s system, which then receives and accepts', async () => {
    const res = await call(
      fed.shiyan,
      'POST',
      '/v1/cases',
      hukouCertificate({ mode: 'offline_proxy', externalRef: 'ZW-FED-2' }),
      operator,
      {
        'idempotency-key': 'fed-2',
      },
    )
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const id = res.body.case.id
    await waitFor('dispatched', async () => (await typesOf(fed.shiyan, id, operator)).includes('dispatched'))
    const shipped = await call(
      fed.shiyan,
      'POST',
      `/v1/cases/${id}/events`,
      { type: 'materials_shipped', data: { carrier: 'EMS', trackingNumber: 'EA123456789CN' } },
      operator,
    )
    expect(shipped.status, JSON.stringify(shipped.body)).toBe(201)
    const types = await waitFor('materials_received and accepted at 十堰', async () => {
      const t = await typesOf(fed.shiyan, id, operator)
      return t.includes('accepted') ? t : false
    }).catch(async (e) => {
      const remote = (await call(fed.shiyan, 'GET', `/v1/cases/${id}/events`, undefined, operator)).body.events[1]?.data
        ?.remoteRef
      console.log(
        'DEBUG shiyan',
        await typesOf(fed.shiyan, id, operator),
        'xiangyang',
        remote && (await typesOf(fed.xiangyang, remote)),
      )
      console.log(
        'DEBUG shiyan log',
        fed.shiyan.gw
          .output()
          .split('\n')
          .filter((l) => /warn|error|"level":[45]0/.test(l))
          .slice(-10)
          .join('\n'),
      )
      console.log(
        'DEBUG xiangyang log',
        fed.xiangyang.gw
          .output()
          .split('\n')
          .filter((l) => /"level":[45]0/.test(l))
          .slice(-10)
          .join('\n'),
      )
      throw e
    })
    expect(types.slice(0, 5)).toEqual([
      'submitted',
      'dispatched',
      'materials_shipped',
      'materials_received',
      'accepted',
    ])
  })
})
