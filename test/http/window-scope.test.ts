/**
 * A window operator's reach (PROTOCOL §2): on the origin side they see and act on the cases their own
 * window collected, not every case of their region, through the API as in the console; and a stored file
 * is theirs to read or to reference only if they uploaded it or are a party of a case that uses it.
 * Knowing a case id or a file's hash is not enough.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { hukouSpouse } from '../fixtures/cases.js'
import { files } from '../fixtures/one-thing.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'

type Operator = Awaited<ReturnType<TestApp['operator']>>
let t: TestApp
let windowA: Operator // 张湾区, window A
let windowB: Operator // 张湾区, another window
let maojian: Operator // 茅箭区
let xiangyang: Operator // the processing region's staff
let zhangwan: TestClient // 张湾区's government system (acts for the region)

beforeAll(async () => {
  t = await createTestApp()
  windowA = await t.operator('420303', 'ZW-A')
  windowB = await t.operator('420303', 'ZW-B')
  maojian = await t.operator('420302', 'MJ-A')
  xiangyang = await t.operator('420600', 'XY-A')
  zhangwan = await t.client('zw-system', ['420303'])
}, 60_000)

afterAll(async () => {
  await t?.close()
})

let n = 0
const submit = (who: Operator, materials?: unknown[]) =>
  who.call(
    'POST',
    '/v1/cases',
    hukouSpouse({
      agent: undefined,
      externalRef: `WS-${++n}`,
      originRegion: who === maojian ? '420302' : '420303',
      ...(materials ? { materials } : {}),
    }),
    { 'idempotency-key': `ws-${n}` },
  )

async function upload(who: Operator, body: Buffer) {
  const r = await t.app.request('/v1/files', {
    method: 'POST',
    body: new Uint8Array(body),
    headers: { 'content-type': 'application/pdf', authorization: `Bearer ${who.token}` },
  })
  expect([200, 201]).toContain(r.status)
  return createHash('sha256').update(body).digest('hex')
}
const download = async (token: string, sha: string) =>
  (await t.app.request(`/v1/files/${sha}`, { headers: { authorization: `Bearer ${token}` } })).status

const withFile = (sha: string) => [
  { code: 'applicant-id-card', form: 'electronic', sha256: sha },
  { code: 'hukou-booklet', form: 'paper' },
  { code: 'marriage-certificate', form: 'paper' },
  { code: 'residence-property-proof', form: 'paper' },
]

describe('a window operator on the origin side', () => {
  it('sees, lists and acts on the cases of their own window only', async () => {
    const created = await submit(windowA)
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const id: string = created.body.case.id
    expect(created.body.case.agent).toMatchObject({ window: 'ZW-A' })
    await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched', {}, { remoteRef: 'R-WS-1' })

    expect((await windowA.call('GET', `/v1/cases/${id}`)).status).toBe(200)
    expect((await windowA.call('GET', '/v1/cases')).body.cases.map((c: { id: string }) => c.id)).toContain(id)

    // Another window of the same district: as if the case did not exist.
    expect((await windowB.call('GET', `/v1/cases/${id}`)).status).toBe(404)
    expect((await windowB.call('GET', `/v1/cases/${id}/events`)).status).toBe(404)
    expect((await windowB.call('GET', '/v1/cases')).body.cases.map((c: { id: string }) => c.id)).not.toContain(id)
    const withdrawal = await windowB.call('POST', `/v1/cases/${id}/events`, { type: 'withdrawn', data: {} })
    expect(withdrawal.status, JSON.stringify(withdrawal.body)).toBe(404)
    expect((await t.runtime.deps.cases.cases.get(id))?.status).toBe('dispatched')

    // The district's own system and the processing side still see it; window A may act.
    expect((await zhangwan.call('GET', `/v1/cases/${id}`)).status).toBe(200)
    expect((await xiangyang.call('GET', `/v1/cases/${id}`)).status).toBe(200)
    expect((await xiangyang.call('GET', '/v1/cases')).body.cases.map((c: { id: string }) => c.id)).toContain(id)
    const withdrawn = await windowA.call('POST', `/v1/cases/${id}/events`, { type: 'withdrawn', data: {} })
    expect(withdrawn.status, JSON.stringify(withdrawn.body)).toBe(201)
    expect((await t.runtime.deps.cases.cases.get(id))?.status).toBe('withdrawn')
  })

  it('may reference a stored file only if they uploaded it or are a party of a case that uses it', async () => {
    const scan = files.pdf('window A scanned an identity card')
    const sha = await upload(windowA, scan)
    for (const other of [windowB, maojian]) {
      expect(await download(other.token, sha)).toBe(404)
      const refused = await submit(other, withFile(sha))
      expect(refused.status, JSON.stringify(refused.body)).toBe(422)
      expect(refused.body.code).toBe('unknown_file')
      // The same answer as for a file that does not exist: the hash reveals nothing.
      expect(refused.body.errors).toEqual([
        { path: 'materials[0].sha256', message: 'no such file: upload it first (POST /v1/files)' },
      ])
      expect(await download(other.token, sha)).toBe(404)
    }
    const unknown = await submit(windowB, withFile('a'.repeat(64)))
    expect(unknown.body.errors).toEqual(refused(0))

    const used = await submit(windowA, withFile(sha))
    expect(used.status, JSON.stringify(used.body)).toBe(201)
    // Now the parties of that case may read it: the district's system and the processing side, not window B.
    expect(await download(windowA.token, sha)).toBe(200)
    expect(await download(xiangyang.token, sha)).toBe(200)
    expect(await download(windowB.token, sha)).toBe(404)
    expect((await zhangwan.call('GET', `/v1/files/${sha}`)).status).toBe(200)
    // Window B may upload the same bytes itself (stored once) and then use them.
    expect(await upload(windowB, scan)).toBe(sha)
    expect((await submit(windowB, withFile(sha))).status).toBe(201)
  })
})

function refused(i: number) {
  return [{ path: `materials[${i}].sha256`, message: 'no such file: upload it first (POST /v1/files)' }]
}
