/**
 * Files travel with the case: two gateways in-process, 十堰 (the origin, served over HTTP on loopback) and
 * 襄阳 (the processing side). A case delivered to 襄阳 references a file by SHA-256; 襄阳 fetches it from 十堰
 * through its `peer` binding with a signed request, checks the hash and stores it. A file whose bytes do not
 * hash to the reference is refused and not stored.
 */
import { createHash } from 'node:crypto'
import { serve } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hukouCertificate } from '../fixtures/cases.js'
import { files } from '../fixtures/one-thing.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'

let shiyan: TestApp
let xiangyang: TestApp
let server: ReturnType<typeof serve>
let window: Awaited<ReturnType<TestApp['operator']>>
let shiyanAtXiangyang: TestClient // 十堰's gateway as a client of 襄阳 (what its peer adapter delivers as)

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

beforeAll(async () => {
  // The peer adapter signs its assertions with the real time: both gateways run on it.
  const now = new Date().toISOString()
  ;[shiyan, xiangyang] = await Promise.all([createTestApp({ now }), createTestApp({ now })])
  const url = await new Promise<string>((resolve) => {
    server = serve({ fetch: shiyan.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(`http://127.0.0.1:${info.port}`),
    )
  })
  // 十堰 knows 襄阳's gateway as a client acting for 420600; 襄阳 reaches 十堰 (origin 420300) through `peer`.
  const registered = await shiyan.admin('POST', '/v1/admin/clients', {
    id: 'gw-420600',
    regions: ['420600'],
    jwks: xiangyang.runtime.keys.jwks(),
  })
  expect(registered.status, JSON.stringify(registered.body)).toBe(201)
  const bound = await xiangyang.admin('PUT', '/v1/admin/bindings/420300', {
    adapter: 'peer',
    settings: { baseUrl: url, gatewayId: shiyan.gatewayId, clientId: 'gw-420600', allowPrivateAddresses: true },
  })
  expect(bound.status, JSON.stringify(bound.body)).toBe(200)
  window = await shiyan.operator('420303', 'ZW-KSTB-01')
  shiyanAtXiangyang = await xiangyang.client('gw-420300', ['420300'])
}, 90_000)

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  await Promise.all([shiyan?.close(), xiangyang?.close()])
})

async function upload(token: string, body: Buffer) {
  const r = await shiyan.app.request('/v1/files', {
    method: 'POST',
    body: new Uint8Array(body),
    headers: { 'content-type': 'application/pdf', authorization: `Bearer ${token}` },
  })
  expect(r.status, await r.clone().text()).toBe(201)
}

/** A case at 十堰 for 襄阳 referencing `hash`; then the same case as 十堰's gateway delivers it to 襄阳. */
async function deliver(hash: string, key: string) {
  const body = hukouCertificate({
    externalRef: `ZW-${key}`,
    materials: [
      { code: 'applicant-id-card', form: 'electronic', sha256: hash },
      { code: 'hukou-booklet', form: 'paper' },
    ],
  })
  const origin = await window.call('POST', '/v1/cases', body, { 'idempotency-key': key })
  expect(origin.status, JSON.stringify(origin.body)).toBe(201)
  const delivered = { ...body, externalRef: origin.body.case.id }
  return shiyanAtXiangyang.call('POST', '/v1/cases', delivered, { 'idempotency-key': origin.body.case.id })
}

const storedAtXiangyang = async (hash: string) =>
  (
    await xiangyang.runtime.database.query<{ n: number; source: string | null }>(
      `select count(*)::int as n, (select source from file_uploads where sha256 = $1 limit 1) as source
         from files where sha256 = $1`,
      [hash],
    )
  )[0]

describe('files fetched from the origin gateway', () => {
  it('fetches a referenced file with a signed request, checks its hash and stores it once', async () => {
    const pdf = files.pdf('营业执照 electronic copy')
    await upload(window.token, pdf)
    expect(await storedAtXiangyang(sha(pdf))).toEqual({ n: 0, source: null })
    const res = await deliver(sha(pdf), 'pf-1')
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(await storedAtXiangyang(sha(pdf))).toEqual({ n: 1, source: 'peer' })
    // 襄阳's processing window reads it there, byte for byte.
    const xyWindow = await xiangyang.operator('420600', 'XY-01')
    const got = await xiangyang.app.request(`/v1/files/${sha(pdf)}`, {
      headers: { authorization: `Bearer ${xyWindow.token}` },
    })
    expect(got.status).toBe(200)
    expect(Buffer.from(await got.arrayBuffer()).equals(pdf)).toBe(true)
    // A second case with the same file: nothing fetched or stored again.
    const again = await deliver(sha(pdf), 'pf-2')
    expect(again.status, JSON.stringify(again.body)).toBe(201)
    expect((await storedAtXiangyang(sha(pdf)))?.n).toBe(1)
  })

  it('refuses a file whose bytes do not hash to the reference, and stores nothing', async () => {
    const pdf = files.pdf('tampered at the origin')
    await upload(window.token, pdf)
    // The bytes at the origin are altered behind its back (or in transit): same reference, other content.
    await shiyan.runtime.database.query('update files set content = $2 where sha256 = $1', [
      sha(pdf),
      files.pdf('something else'),
    ])
    const res = await deliver(sha(pdf), 'pf-3')
    expect(res.status, JSON.stringify(res.body)).toBe(422)
    expect(res.body.code).toBe('unknown_file')
    expect(res.body.errors).toEqual([
      { path: 'materials[0].sha256', message: expect.stringContaining('does not have this SHA-256') },
    ])
    expect(await storedAtXiangyang(sha(pdf))).toEqual({ n: 0, source: null })
  })

  it('gets nothing from the origin for a file no case of its region references (404 there, 422 here)', async () => {
    const pdf = files.pdf('not referenced')
    await upload(window.token, pdf)
    const body = hukouCertificate({
      externalRef: 'ZW-unreferenced',
      materials: [
        { code: 'applicant-id-card', form: 'electronic', sha256: sha(pdf) },
        { code: 'hukou-booklet', form: 'paper' },
      ],
    })
    const res = await shiyanAtXiangyang.call('POST', '/v1/cases', body, { 'idempotency-key': 'pf-4' })
    expect(res.status, JSON.stringify(res.body)).toBe(422)
    expect(res.body.errors[0].message).toContain('could not be fetched from the origin gateway')
    expect(await storedAtXiangyang(sha(pdf))).toEqual({ n: 0, source: null })
  })
})
