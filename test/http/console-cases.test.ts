/**
 * The console's new-case form with uploaded scans (through POST /v1/files with the clerk's session and CSRF),
 * and its case pages for bundles (children, results together, handed over on the parent only) and evidence.
 * FILE_MAX_BYTES is 4 KiB here, so a too-large file is small.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { hukouSpouse, multiSiteEnterprise, residentId } from '../fixtures/cases.js'
import { elderlyCareHome } from '../fixtures/one-thing.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { consoleSignIn, csrfOf } from '../helpers/console.js'

let t: TestApp
let op: Awaited<ReturnType<TestApp['operator']>>

beforeAll(async () => {
  t = await createTestApp({ env: { FILE_MAX_BYTES: '4096' } })
  op = await t.operator('420303', 'ZW-KSTB-01', '李窗口')
})
afterAll(async () => {
  await t?.close()
})

const pdf = (text: string) => new File([`%PDF-1.4\n${text}\n%%EOF\n`], '房产证明.pdf', { type: 'application/pdf' })

/**
 * The wizard's form for 夫妻投靠户口迁移 to 襄阳, filled from its notice page: every field as a clerk types it,
 * the residence proof in the form `proofForm`, the other materials on paper.
 */
function spouseForm(
  html: string,
  o: { mode: string; name: string; id17: string; phone: string; proofForm: string },
): Record<string, string> {
  return {
    _csrf: csrfOf(html),
    key: /name="key" value="([^"]+)"/.exec(html)![1]!,
    item: 'hukou-transfer-spouse',
    processingRegion: '420600',
    mode: o.mode,
    'applicant.kind': 'person',
    'applicant.name': o.name,
    'applicant.idType': 'resident_id',
    'applicant.idNumber': residentId(o.id17),
    'applicant.phone': o.phone,
    'delivery.method': 'window_pickup',
    ...Object.fromEntries(
      Object.entries(hukouSpouse().form)
        .filter(([k]) => k !== 'applicantName' && k !== 'applicantPhone')
        .map(([k, v]) => [`form.${k}`, String(v)]),
    ),
    'mat.applicant-id-card.form': 'paper',
    'mat.hukou-booklet.form': 'paper',
    'mat.marriage-certificate.form': 'paper',
    'mat.residence-property-proof.form': o.proofForm,
  }
}

describe('console: uploading a material’s scan', () => {
  it('uploads the scan, puts its sha256 into the material; a too-large, wrong-type or mismatched file is refused clearly', async () => {
    const b = await consoleSignIn(t, op.token)
    const notice = await b.get(
      '/console/new/notice?item=hukou-transfer-spouse&processingRegion=420600&mode=online_transfer',
    )
    const html = await notice.text()
    expect(notice.status, html).toBe(200)
    expect(html).toContain('enctype="multipart/form-data"')
    expect(html).toContain('name="mat.residence-property-proof.file"')
    expect(html).toContain('data-max-bytes="4096"')
    // A material without the electronic form has no file input.
    expect(html).not.toContain('name="mat.marriage-certificate.file"')
    const form: Record<string, string | File> = spouseForm(html, {
      mode: 'online_transfer',
      name: '张三',
      id17: '42060219850101123',
      phone: '13800138000',
      proofForm: 'electronic',
    })
    const cases = async () => (await t.admin('GET', '/v1/cases?limit=100')).body.cases.length
    const before = await cases()

    const refusals: [File | null, number, RegExp][] = [
      [null, 422, /选择了电子扫描件：请上传文件/],
      [
        new File([new Uint8Array(5000).fill(37)], '大文件.pdf', { type: 'application/pdf' }),
        422,
        /文件过大：大文件\.pdf（5 KB），每个文件最多 4 KB/,
      ],
      [
        new File(['hello'], '说明.txt', { type: 'text/plain' }),
        422,
        /文件类型不被接受：说明\.txt（text\/plain），仅接受 PDF、JPEG、PNG、OFD/,
      ],
      [new File(['not a png'], '照片.png', { type: 'image/png' }), 422, /文件内容与其类型不符：照片\.png/],
    ]
    for (const [file, status, message] of refusals) {
      const res = await b.postMultipart(
        '/console/new',
        file ? { ...form, 'mat.residence-property-proof.file': file } : form,
      )
      const page = await res.text()
      expect(res.status, page).toBe(status)
      expect(page).toContain('材料文件未能提交，办件未创建')
      expect(page).toMatch(message)
      // What was typed is kept.
      expect(page).toContain('value="张三"')
    }
    expect(await cases()).toBe(before)

    // A file on a material not marked as a scan is not dropped silently.
    const misplaced = await b.postMultipart('/console/new', {
      ...form,
      'mat.residence-property-proof.form': 'paper',
      'mat.residence-property-proof.file': pdf('a'),
    })
    expect(misplaced.status).toBe(422)
    expect(await misplaced.text()).toContain('材料形式不是“电子扫描件”')

    const res = await b.postMultipart('/console/new', { ...form, 'mat.residence-property-proof.file': pdf('房产证明') })
    expect(res.status, await res.clone().text()).toBe(303)
    const id = /\/console\/cases\/([0-9a-f-]{36})\/receipt$/.exec(res.headers.get('location')!)![1]!
    const stored = (await t.admin('GET', `/v1/cases/${id}`)).body
    const proof = stored.materials.find((m: any) => m.code === 'residence-property-proof')
    expect(proof).toMatchObject({ form: 'electronic', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })
    const file = await op.call('GET', `/v1/files/${proof.sha256}`)
    expect(file.status).toBe(200)

    // The case page lists the materials; the scan downloads through the console as it was uploaded.
    const page = await (await b.get(`/console/cases/${id}`)).text()
    const link = `/console/cases/${id}/files/${proof.sha256}`
    expect(/<ul id="materials">([\s\S]*?)<\/ul>/.exec(page)?.[1]).toContain(`href="${link}"`)
    const download = await b.get(link)
    expect(download.status).toBe(200)
    expect(download.headers.get('content-type')).toBe('application/pdf')
    expect(download.headers.get('content-disposition')).toMatch(
      /^attachment; filename="residence-property-proof-[0-9a-f]{12}\.pdf"$/,
    )
    expect(await download.text()).toBe(await pdf('房产证明').text())
    // A file the case does not reference, and another window: not found.
    expect((await b.get(`/console/cases/${id}/files/${'0'.repeat(64)}`)).status).toBe(404)
    const other = await t.operator('420303', 'ZW-KSTB-03', '孙窗口')
    expect((await (await consoleSignIn(t, other.token)).get(link)).status).toBe(404)
  })

  it('keeps a stored scan when the case is refused for another reason, and does not ask for the file again', async () => {
    const b = await consoleSignIn(t, op.token)
    const html = await (
      await b.get('/console/new/notice?item=hukou-transfer-spouse&processingRegion=420600&mode=online_transfer')
    ).text()
    const form: Record<string, string | File> = {
      _csrf: csrfOf(html),
      key: /name="key" value="([^"]+)"/.exec(html)![1]!,
      item: 'hukou-transfer-spouse',
      processingRegion: '420600',
      mode: 'online_transfer',
      'applicant.name': '张三',
      'applicant.idType': 'resident_id',
      'applicant.idNumber': '420602198501011230', // wrong check character: the API refuses the case
      'delivery.method': 'window_pickup',
      'mat.residence-property-proof.form': 'electronic',
      'mat.residence-property-proof.file': pdf('第二份'),
    }
    const res = await b.postMultipart('/console/new', form)
    const page = await res.text()
    expect(res.status).toBe(422)
    const sha = /name="mat\.residence-property-proof\.sha256" value="([0-9a-f]{64})"/.exec(page)?.[1]
    expect(sha).toBeDefined()
    expect(page).toContain('已上传：房产证明.pdf')
  })
})

describe('console: a family on the case page', () => {
  it('a parent lists its children, issues their results together; a child links to its parent and has no hand-over', async () => {
    const zhangwan = await t.client('zhangwan-console', ['420302'])
    const kaifaqu = await t.client('kaifaqu-console', ['Z42030001'])
    const created = await op.call('POST', '/v1/cases', multiSiteEnterprise({ agent: undefined }), {
      'idempotency-key': 'console-family-1',
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const parent = created.body.case.id as string
    const child: Record<string, string> = Object.fromEntries(
      created.body.case.children.map((c: { id: string; processingRegion: string }) => [c.processingRegion, c.id]),
    )
    for (const id of Object.values(child)) await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched')
    const b = await consoleSignIn(t, op.token)

    const before = await (await b.get(`/console/cases/${parent}`)).text()
    expect(before).toContain('子办件（0/2 已办结）')
    for (const [region, id] of Object.entries(child)) {
      const row = new RegExp(`<tr data-child="${id}">([\\s\\S]*?)</tr>`).exec(before)?.[1]
      // The processing region by name, the child by its number after the parent's.
      expect(row, region).toContain(`<td>${{ '420302': '茅箭区', Z42030001: '十堰经济技术开发区' }[region]}</td>`)
      expect(row).toContain(`>${created.body.case.number}-`)
      expect(row).toContain('已送达办理地')
      expect(row).toMatch(/\d{4}-\d{2}-\d{2}/) // its due date
    }
    expect(before).toContain('全部子办件办结后一并发放')
    expect(before).not.toContain('登记结果已交付')

    const sides = { '420302': zhangwan, Z42030001: kaifaqu } as const
    for (const [region, side] of Object.entries(sides)) {
      expect((await side.call('POST', `/v1/cases/${child[region]}/events`, { type: 'accepted' })).status).toBe(201)
      const decided = await side.call('POST', `/v1/cases/${child[region]}/result`, {
        outcome: 'approved',
        decision: { number: `十市监登〔2026〕${region}号`, date: '2026-10-09' },
        trust: 'B',
      })
      expect(decided.status, JSON.stringify(decided.body)).toBe(201)
    }

    const childPage = await (await b.get(`/console/cases/${child['420302']}`)).text()
    expect(childPage).toContain(`id="parent-link"`)
    expect(childPage).toContain(`href="/console/cases/${parent}"`)
    expect(childPage).not.toContain('登记结果已交付')
    expect(childPage).not.toContain('登记评价')

    const after = await (await b.get(`/console/cases/${parent}`)).text()
    expect(after).toContain('子办件（2/2 已办结）')
    const results = /<table id="bundle-results">([\s\S]*?)<\/table>/.exec(after)?.[1] ?? ''
    expect(results.match(/签名已验证/g)).toHaveLength(2)
    expect(results).toContain('准予')
    expect(after).toContain('登记结果已交付（全部子办件一并）')

    // Posted on a child anyway (a stale page): the API's refusal, nothing recorded.
    const onChild = await b.post(`/console/cases/${child['420302']}/events`, {
      _csrf: csrfOf(childPage),
      type: 'result_delivered',
      method: 'window_pickup',
    })
    expect(onChild.status).toBe(409)
    expect(await onChild.text()).toContain('role="alert"')
    expect((await t.admin('GET', `/v1/cases/${child['420302']}`)).body.status).toBe('completed')

    const handed = await b.post(`/console/cases/${parent}/events`, {
      _csrf: csrfOf(after),
      type: 'result_delivered',
      method: 'window_pickup',
    })
    expect(handed.status, await handed.clone().text()).toBe(303)
    for (const id of [parent, ...Object.values(child)])
      expect((await t.admin('GET', `/v1/cases/${id}`)).body.status).toBe('result_delivered')
  })

  it('offers a case’s evidence bundle as a download to its window, not to another window', async () => {
    const created = await op.call('POST', '/v1/cases', hukouSpouse({ agent: undefined }), {
      'idempotency-key': 'console-evidence-1',
    })
    const id = created.body.case.id as string
    const b = await consoleSignIn(t, op.token)
    const page = await (await b.get(`/console/cases/${id}`)).text()
    expect(page).toContain(`id="evidence-link" href="/console/cases/${id}/evidence"`)
    const res = await b.get(`/console/cases/${id}/evidence`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="evidence-${id}.json"`)
    const bundle = JSON.parse(await res.text())
    expect(bundle).toMatchObject({ case: { id }, signature: expect.any(String) })
    // The applicant appears only by the hash of their number.
    expect(JSON.stringify(bundle)).not.toContain(hukouSpouse().applicant.idNumber)
    const other = await t.operator('420303', 'ZW-KSTB-02', '钱窗口')
    const o = await consoleSignIn(t, other.token)
    expect((await o.get(`/console/cases/${id}/evidence`)).status).toBe(404)
  })
})

describe('console: 容缺受理 on the case page', () => {
  it('shows the materials accepted as outstanding by name, with the date they are due', async () => {
    const created = await op.call('POST', '/v1/cases', elderlyCareHome({ agent: undefined }), {
      'idempotency-key': 'console-outstanding-1',
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const food = created.body.case.children.find((c: { item: string }) => c.item === 'food-business-licence').id
    await recordGatewayEvent(t.runtime.deps.cases, food, 'dispatched', { adapter: 'manual' })
    const accepted = await op.call('POST', `/v1/cases/${food}/events`, {
      type: 'accepted',
      data: { outstanding: ['staff-health-certificates'], supplyBy: '2026-10-09' },
    })
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201)
    const name = (await t.admin('GET', '/v1/items/food-business-licence')).body.materials.find(
      (m: { code: string }) => m.code === 'staff-health-certificates',
    ).name
    const b = await consoleSignIn(t, op.token)
    const page = await (await b.get(`/console/cases/${food}`)).text()
    const row = /<tr id="outstanding">([\s\S]*?)<\/tr>/.exec(page)?.[1]
    expect(row).toContain(name)
    expect(row).toContain('须于 2026-10-09 前补交')
    expect(row).not.toContain('已逾期')
  })
})

describe('console: an offline_proxy case from the wizard, its transfer slip and shipment', () => {
  // From /work/shared/data/ecert-identifier-samples.json: one whose check character verifies, and one whose
  // does not (the last sample, check character M where MOD 37,36 gives another).
  const goodCert = '1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U'
  const badCert = '1.2.156.3005.2.11100000000013661B006.113700000045046442.209FA4E88F9E4C878F3E9BED2CE7EA49.001.M'

  it('refuses a wrong certificate id on the page; the receipt links the slip, and the shipment posted there is recorded and shown', async () => {
    const b = await consoleSignIn(t, op.token)
    const notice = await b.get(
      '/console/new/notice?item=hukou-transfer-spouse&processingRegion=420600&mode=offline_proxy',
    )
    const html = await notice.text()
    expect(notice.status, html).toBe(200)
    expect(html).toContain('name="mat.residence-property-proof.certificateId"')
    const form = spouseForm(html, {
      mode: 'offline_proxy',
      name: '王五',
      id17: '42060219850202123',
      phone: '13800138001',
      proofForm: 'e_certificate',
    })
    const count = async () => (await t.admin('GET', '/v1/cases?limit=100')).body.cases.length
    const before = await count()

    const wrong = await b.post('/console/new', { ...form, 'mat.residence-property-proof.certificateId': badCert })
    const wrongPage = await wrong.text()
    expect(wrong.status, wrongPage).toBe(422)
    expect(wrongPage).toContain('role="alert"')
    expect(wrongPage).toContain('materials[3].certificateId')
    expect(wrongPage).toContain('the check character does not match (ISO/IEC 7064 MOD 37,36)')
    // What was typed is kept, the wrong id too, to be corrected.
    expect(wrongPage).toContain('value="王五"')
    expect(wrongPage).toContain(`value="${badCert}"`)
    expect(await count()).toBe(before)

    const res = await b.post('/console/new', {
      ...form,
      _csrf: csrfOf(wrongPage),
      'mat.residence-property-proof.certificateId': goodCert,
    })
    expect(res.status, await res.clone().text()).toBe(303)
    const receiptPath = res.headers.get('location')!
    const id = /^\/console\/cases\/([0-9a-f-]{36})\/receipt$/.exec(receiptPath)![1]!
    const stored = (await t.admin('GET', `/v1/cases/${id}`)).body
    expect(stored).toMatchObject({ mode: 'offline_proxy', status: 'submitted' })
    expect(stored.materials.find((m: any) => m.code === 'residence-property-proof')).toMatchObject({
      form: 'e_certificate',
      certificateId: goodCert,
    })
    expect(await count()).toBe(before + 1)

    const receipt = await (await b.get(receiptPath)).text()
    expect(receipt).toContain('材料寄递')
    expect(receipt).toContain(`href="/v1/cases/${id}/transfer-slip"`)
    expect(receipt).toContain('打印流转单')
    const shipForm = new RegExp(`<form method="post" action="/console/cases/${id}/events">([\\s\\S]*?)</form>`).exec(
      receipt,
    )?.[1]
    expect(shipForm).toContain('name="type" value="materials_shipped"')
    expect(shipForm).toContain('name="carrier"')
    expect(shipForm).toContain('name="trackingNumber"')
    // Browsers compile `pattern` with the v flag: the pattern must be valid there, or the check is silently off.
    const pattern = /name="trackingNumber"[^>]*pattern="([^"]+)"/.exec(shipForm ?? '')?.[1] ?? ''
    const tracking = new RegExp(`^(?:${pattern})$`, 'v')
    expect(['SF1234567890', 'EMS-2026-01'].map((n) => tracking.test(n))).toEqual([true, true])
    expect(['ab', 'SF 123', '运单123'].map((n) => tracking.test(n))).toEqual([false, false, false])
    // The slip opens with the console session (the link's target), the applicant's number masked.
    const slip = await b.get(`/v1/cases/${id}/transfer-slip`)
    const slipHtml = await slip.text()
    expect(slip.status, slipHtml).toBe(200)
    expect(slipHtml).toContain(id)
    expect(slipHtml).not.toContain(form['applicant.idNumber'])
    // The case page shows the certificate id among the materials, and the slip link.
    const casePage = await (await b.get(`/console/cases/${id}`)).text()
    expect(/<ul id="materials">([\s\S]*?)<\/ul>/.exec(casePage)?.[1]).toContain(goodCert)
    expect(casePage).toContain(`href="/v1/cases/${id}/transfer-slip"`)

    await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched')
    const shipped = await b.post(`/console/cases/${id}/events`, {
      _csrf: csrfOf(receipt),
      type: 'materials_shipped',
      carrier: ' 中国邮政EMS ',
      trackingNumber: 'EA987654321CN',
    })
    expect(shipped.status, await shipped.clone().text()).toBe(303)
    expect(shipped.headers.get('location')).toBe(`/console/cases/${id}?done=materials_shipped`)
    const events = (await t.admin('GET', `/v1/cases/${id}/events`)).body.events as { type: string; data: any }[]
    const ev = events.filter((e) => e.type === 'materials_shipped')
    expect(ev).toHaveLength(1)
    expect(ev[0]!.data).toEqual({ carrier: '中国邮政EMS', trackingNumber: 'EA987654321CN', window: 'ZW-KSTB-01' })
    expect((await t.admin('GET', `/v1/cases/${id}`)).body.status).toBe('materials_shipped')

    const after = await (await b.get(shipped.headers.get('location')!)).text()
    expect(after).toContain('已登记：材料已寄出')
    expect(/<strong id="case-status">([^<]*)</.exec(after)?.[1]).toBe('材料已寄出')
    // The timeline in a sentence: who (the clerk by name), when, what, with the carrier and tracking number.
    const timeline = /<ol class="timeline" id="timeline">([\s\S]*?)<\/ol>/.exec(after)?.[1] ?? ''
    expect(timeline).toMatch(
      /<strong>[^<]+<\/strong> 于 \d{4}-\d{2}-\d{2} \d{2}:\d{2} 寄出纸质材料（中国邮政EMS，运单号 EA987654321CN）/,
    )
    // The raw data, the hash chain and the actor's id stay available, folded.
    expect(timeline).toMatch(
      /<details class="tech"><summary>技术详情<\/summary>[\s\S]*?&quot;trackingNumber&quot;: &quot;EA987654321CN&quot;/,
    )
    // Shipped once: the form is no longer offered.
    expect(after).not.toContain('登记材料寄出')
  })
})
