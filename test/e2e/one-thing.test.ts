/**
 * 一事联办 end to end: a window in 张湾区 submits 开养老院 once at 十堰's gateway (gw-420300), with one
 * form and each material once. Four of its five items are processed in 张湾区 (420303, under the 十堰 within-city
 * pilot; their departments have no system and record their part with operator tokens at 十堰). The canteen's
 * food business licence is processed in 襄阳 (420600, under the province-wide agreement): the seeded bundle
 * processes every member at the origin, so the window names 襄阳 for that member with `processingRegions`, and
 * that child travels to 襄阳's gateway (gw-420600) through the `peer` adapter, where 襄阳's 市场监管局 staff
 * handle it. Both gateways are real `tongban serve` processes with their own databases.
 */
import { createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { elderlyCareHome, files } from '../fixtures/one-thing.js'
import { sqlQuery } from '../helpers/db.js'
import { call, type Side, tokenAt, typesOf, useFederation } from '../helpers/federation.js'
import { runCli } from '../helpers/process.js'

const fed = useFederation({ waitMs: 20_000 })
const { waitFor } = fed

/** The 张湾区 window (综合窗口) at 十堰. */
let window: string
/** 张湾区's departments (民政, 消防, 卫健), recording their part at 十堰: no system of their own. */
let zwStaff: string
/** 襄阳's 市场监管局, at 襄阳's gateway. */
let xyStaff: string
/** A 茅箭区 window at 十堰: a party to nothing here. */
let maojian: string
/** 襄阳 at 十堰's gateway (acting for 420600 there, as 襄阳's gateway client does). */
let xyAtShiyan: string

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
/** A day in China Standard Time, `days` from today (the gateways run on the real clock). */
const cstDay = (days: number) => new Date(Date.now() + 8 * 3_600_000 + days * 86_400_000).toISOString().slice(0, 10)

async function upload(side: Side, token: string, bytes: Buffer, type: string) {
  const res = await fetch(`${side.gw.url}/v1/files`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': type },
    body: new Uint8Array(bytes),
  })
  return { status: res.status, body: (await res.json()) as any }
}

async function download(side: Side, token: string, hash: string) {
  const res = await fetch(`${side.gw.url}/v1/files/${hash}`, { headers: { authorization: `Bearer ${token}` } })
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) }
}

beforeAll(async () => {
  // 襄阳's own region keeps the shipped default binding (`manual`): its staff record their part at its gateway.
  ;[window, zwStaff, maojian, xyStaff, xyAtShiyan] = await Promise.all([
    tokenAt(fed.shiyan, 'operator', '420303', 'ZW-ZH-01', '王窗口'),
    tokenAt(fed.shiyan, 'operator', '420303', 'ZW-BM-01', '张湾区审批'),
    tokenAt(fed.shiyan, 'operator', '420302', 'MJ-ZH-01', '茅箭窗口'),
    tokenAt(fed.xiangyang, 'operator', '420600', 'XY-SCJ-01', '襄阳市场监管'),
    tokenAt(fed.shiyan, 'operator', '420600', 'XY-AT-SY', '襄阳（在十堰）'),
  ])
}, 120_000)

/** The item codes' form fields and material codes, as the directory of a side publishes them. */
async function partOf(side: Side, item: string) {
  const res = await call(side, 'GET', `/v1/items/${item}`)
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return {
    fields: new Set<string>(res.body.formFields.map((f: { name: string }) => f.name)),
    materials: new Set<string>(res.body.materials.map((m: { code: string }) => m.code)),
  }
}

describe('开养老院 submitted once at a 张湾区 window, children in 张湾区 and 襄阳', () => {
  it('one notice, one form, materials once; parallel handling, 容缺, 联合踏勘; every licence issued together', async () => {
    // --- Materials submitted once: each file uploaded once, stored by its SHA-256. -------------------------
    const licence = files.pdf('民办非企业单位登记证书（扫描件）')
    const premises = files.pdf('租赁合同及出租方产权证明')
    const articles = files.pdf('章程')
    const layout = files.png()
    for (const f of [licence, premises, articles]) {
      expect((await upload(fed.shiyan, window, f, 'application/pdf')).status).toBe(201)
    }
    expect((await upload(fed.shiyan, window, layout, 'image/png')).status).toBe(201)
    const again = await upload(fed.shiyan, window, licence, 'application/pdf')
    expect(again.status, JSON.stringify(again.body)).toBe(200)
    expect(again.body).toMatchObject({ sha256: sha(licence), created: false })

    // --- 一次告知 and 一表申请: the route of every member, one checklist, one form. ----------------------------
    const resolved = await call(
      fed.shiyan,
      'POST',
      '/v1/routes/resolve',
      {
        thing: 'open-elderly-care-home',
        originRegion: '420303',
        mode: 'online_transfer',
        processingRegions: { 'food-business-licence': '420600' },
      },
      window,
    )
    expect(resolved.status, JSON.stringify(resolved.body)).toBe(200)
    expect(resolved.body.routes.map((r: any) => [r.item.code, r.processingRegion, r.agreement.id, r.scope])).toEqual([
      ['npo-elderly-care-registration', '420303', 'shiyan-within-city-pilot', 'within_city'],
      ['fire-safety-inspection-public-venue', '420303', 'shiyan-within-city-pilot', 'within_city'],
      ['food-business-licence', '420600', 'hubei-province-wide', 'province_wide'],
      ['elderly-care-clinic-filing', '420303', 'shiyan-within-city-pilot', 'within_city'],
      ['elderly-care-home-filing', '420303', 'shiyan-within-city-pilot', 'within_city'],
    ])
    expect(resolved.body.refused).toEqual([])
    const businessLicence = resolved.body.checklist.materials.filter((m: any) => m.code === 'business-licence')
    expect(businessLicence).toHaveLength(1)
    expect(businessLicence[0].items).toHaveLength(4)
    const form = await call(fed.shiyan, 'GET', '/v1/things/open-elderly-care-home/form', undefined, window)
    expect(form.status).toBe(200)
    const body = elderlyCareHome({
      agent: undefined,
      externalRef: 'ZW-YLY-E2E-1',
      processingRegions: { 'food-business-licence': '420600' },
      materials: [
        { code: 'articles-of-association', form: 'electronic', sha256: sha(articles) },
        { code: 'legal-rep-id', form: 'paper' },
        { code: 'npo-funding-proof', form: 'paper' },
        { code: 'premises-proof', form: 'electronic', sha256: sha(premises) },
        // The paper certificate, scanned once at the window: every item that asks for it reuses the scan.
        { code: 'business-licence', form: 'paper', sha256: sha(licence) },
        { code: 'fire-safety-commitment', form: 'paper' },
        { code: 'fire-safety-rules', form: 'paper' },
        { code: 'food-premises-layout', form: 'electronic', sha256: sha(layout) },
        { code: 'food-safety-rules', form: 'paper' },
        { code: 'food-safety-manager-proof', form: 'paper' },
        { code: 'medical-staff-qualification', form: 'paper' },
        { code: 'medical-premises-layout', form: 'paper' },
        { code: 'elderly-care-filing-commitment', form: 'paper' },
      ],
    })
    // Every field of the submission is a field of the one form.
    const merged = new Set(Object.keys(form.body.schema.properties))
    for (const k of Object.keys(body.form)) expect(merged.has(k), k).toBe(true)

    // --- Submitted once. --------------------------------------------------------------------------------
    const created = await call(fed.shiyan, 'POST', '/v1/cases', body, window, { 'idempotency-key': 'e2e-yly-1' })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const parentId: string = created.body.case.id
    const children = created.body.case.children as { id: string; item: string; processingRegion: string }[]
    expect(children.map((c) => [c.item, c.processingRegion]).sort()).toEqual(
      [
        ['elderly-care-clinic-filing', '420303'],
        ['elderly-care-home-filing', '420303'],
        ['fire-safety-inspection-public-venue', '420303'],
        ['food-business-licence', '420600'],
        ['npo-elderly-care-registration', '420303'],
      ].sort(),
    )
    const child = (item: string) => children.find((c) => c.item === item)?.id as string
    const npo = child('npo-elderly-care-registration')
    const fire = child('fire-safety-inspection-public-venue')
    const food = child('food-business-licence')
    const clinic = child('elderly-care-clinic-filing')
    const home = child('elderly-care-home-filing')
    const local = [npo, fire, clinic, home]

    // --- 一网办理: every child dispatched at once, each on its own; the parent follows. ----------------------
    await waitFor('every child dispatched', async () => {
      for (const c of children) if (!(await typesOf(fed.shiyan, c.id, window)).includes('dispatched')) return false
      return true
    })
    // One intake wrote every child (one instant); each went out through its own region's adapter.
    const submittedAt = new Set<string>()
    for (const c of children) {
      const events = (await call(fed.shiyan, 'GET', `/v1/cases/${c.id}/events`, undefined, window)).body.events
      submittedAt.add(events[0].at)
      if (c.id !== food) expect(events[1]).toMatchObject({ type: 'dispatched', data: { adapter: 'manual' } })
    }
    expect(submittedAt.size).toBe(1)
    const sent = (await call(fed.shiyan, 'GET', `/v1/cases/${food}/events`, undefined, window)).body.events[1]
    expect(sent).toMatchObject({ type: 'dispatched', data: { adapter: 'peer' } })
    const remote: string = sent.data.remoteRef
    expect((await call(fed.shiyan, 'GET', `/v1/cases/${parentId}`, undefined, window)).body.status).toBe('dispatched')

    // --- Each department in each region sees only its own part. --------------------------------------------
    // 襄阳 holds one case: the food licence, with only that item's fields and materials.
    const xyCases = (await call(fed.xiangyang, 'GET', '/v1/cases?limit=200', undefined, xyStaff)).body.cases
    expect(xyCases.map((c: { id: string }) => c.id)).toEqual([remote])
    const theirs = (await call(fed.xiangyang, 'GET', `/v1/cases/${remote}`, undefined, xyStaff)).body
    expect(theirs).toMatchObject({
      externalRef: food,
      item: 'food-business-licence',
      originRegion: '420303',
      processingRegion: '420600',
      status: 'dispatched',
      parentId: null,
    })
    const foodPart = await partOf(fed.xiangyang, 'food-business-licence')
    expect(Object.keys(theirs.form).sort()).toEqual(
      Object.keys(body.form)
        .filter((k) => foodPart.fields.has(k))
        .sort(),
    )
    expect(theirs.form).not.toHaveProperty('bedCount')
    expect(theirs.form).not.toHaveProperty('clinicType')
    expect(theirs.materials.map((m: { code: string }) => m.code).sort()).toEqual(
      body.materials
        .map((m) => m.code)
        .filter((c) => foodPart.materials.has(c))
        .sort(),
    )
    // The files it references travelled with it (fetched from 十堰, hash checked); the others did not.
    for (const f of [licence, layout]) {
      const got = await download(fed.xiangyang, xyStaff, sha(f))
      expect(got.status).toBe(200)
      expect(got.bytes.equals(f)).toBe(true)
    }
    for (const f of [articles, premises]) expect((await download(fed.xiangyang, xyStaff, sha(f))).status).toBe(404)
    const xyFiles = await sqlQuery<{ sha256: string; source: string }>(
      fed.xiangyang.env.DATABASE_URL as string,
      'select f.sha256, u.source from files f join file_uploads u using (sha256) order by f.sha256',
    )
    expect(xyFiles).toEqual([sha(licence), sha(layout)].sort().map((s) => ({ sha256: s, source: 'peer' })))
    // 十堰's parent and its other children do not exist for 襄阳.
    for (const id of [parentId, ...local]) {
      expect((await call(fed.xiangyang, 'GET', `/v1/cases/${id}`, undefined, xyStaff)).status).toBe(404)
    }
    // At 十堰 each child holds its own part only (as the collecting window sees it); a 茅箭区 window sees none
    // of it, nor does 张湾区's department staff see the child that 襄阳 processes (another window collected it).
    expect((await call(fed.shiyan, 'GET', `/v1/cases/${food}`, undefined, zwStaff)).status).toBe(404)
    for (const c of children) {
      const v = (await call(fed.shiyan, 'GET', `/v1/cases/${c.id}`, undefined, window)).body
      const part = await partOf(fed.shiyan, c.item)
      for (const k of Object.keys(v.form)) expect(part.fields.has(k), `${c.item}: ${k}`).toBe(true)
      for (const m of v.materials) expect(part.materials.has(m.code), `${c.item}: ${m.code}`).toBe(true)
    }
    for (const id of [parentId, ...local, food]) {
      expect((await call(fed.shiyan, 'GET', `/v1/cases/${id}`, undefined, maojian)).status).toBe(404)
    }
    expect((await download(fed.shiyan, maojian, sha(licence))).status).toBe(404)
    // 襄阳 at 十堰's gateway: its own child; the parent shows its part only; the others' parts are not found.
    expect((await call(fed.shiyan, 'GET', `/v1/cases/${food}`, undefined, xyAtShiyan)).status).toBe(200)
    for (const id of local) {
      expect((await call(fed.shiyan, 'GET', `/v1/cases/${id}`, undefined, xyAtShiyan)).status).toBe(404)
    }
    const parentForXy = await call(fed.shiyan, 'GET', `/v1/cases/${parentId}`, undefined, xyAtShiyan)
    expect(parentForXy.status).toBe(200)
    expect(parentForXy.body.children.map((c: { id: string }) => c.id)).toEqual([food])
    for (const k of Object.keys(parentForXy.body.form)) expect(foodPart.fields.has(k), k).toBe(true)
    for (const m of parentForXy.body.materials) expect(foodPart.materials.has(m.code), m.code).toBe(true)
    expect((await download(fed.shiyan, xyAtShiyan, sha(layout))).status).toBe(200)
    expect((await download(fed.shiyan, xyAtShiyan, sha(articles))).status).toBe(404)
    // The scan is stored once at 十堰, referenced by the four children that ask for it (and the parent).
    const [stored] = await sqlQuery<{ n: number }>(
      fed.shiyan.env.DATABASE_URL as string,
      'select count(*)::int as n from files where sha256 = $1',
      [sha(licence)],
    )
    expect(stored?.n).toBe(1)
    const [refs] = await sqlQuery<{ n: number }>(
      fed.shiyan.env.DATABASE_URL as string,
      `select count(*)::int as n from cases where parent_id = $1 and materials @> $2::jsonb`,
      [parentId, JSON.stringify([{ sha256: sha(licence) }])],
    )
    expect(refs?.n).toBe(4)

    // --- 容缺受理 at 襄阳: accepted with the staff health certificates outstanding. -----------------------------
    const supplyBy = cstDay(7)
    const accepted = await call(
      fed.xiangyang,
      'POST',
      `/v1/cases/${remote}/events`,
      { type: 'accepted', data: { outstanding: ['staff-health-certificates'], supplyBy, note: '容缺受理' } },
      xyStaff,
    )
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201)
    const atOrigin = await waitFor('容缺 acceptance back at 十堰', async () => {
      const v = (await call(fed.shiyan, 'GET', `/v1/cases/${food}`, undefined, window)).body
      return v.status === 'accepted' ? v : false
    })
    expect(atOrigin.outstanding).toEqual({ materials: ['staff-health-certificates'], supplyBy, overdue: false })

    // The 张湾区 departments accept their parts.
    for (const id of local) {
      const r = await call(fed.shiyan, 'POST', `/v1/cases/${id}/events`, { type: 'accepted', data: {} }, zwStaff)
      expect(r.status, JSON.stringify(r.body)).toBe(201)
    }
    expect((await call(fed.shiyan, 'GET', `/v1/cases/${parentId}`, undefined, window)).body.status).toBe('accepted')

    // The window supplies the missing material: uploaded once, it travels to 襄阳 with the supplement.
    const health = files.pdf('从业人员健康证明')
    expect((await upload(fed.shiyan, window, health, 'application/pdf')).status).toBe(201)
    const supplied = await call(
      fed.shiyan,
      'POST',
      `/v1/cases/${food}/events`,
      {
        type: 'supplement_provided',
        data: { materials: [{ code: 'staff-health-certificates', sha256: sha(health) }] },
      },
      window,
    )
    expect(supplied.status, JSON.stringify(supplied.body)).toBe(201)
    expect(supplied.body.status).toBe('accepted')
    expect((await call(fed.shiyan, 'GET', `/v1/cases/${food}`, undefined, window)).body.outstanding).toBeUndefined()
    const cleared = await waitFor('the supplement at 襄阳', async () => {
      const v = (await call(fed.xiangyang, 'GET', `/v1/cases/${remote}`, undefined, xyStaff)).body
      return v.outstanding === undefined ? v : false
    })
    expect(cleared.status).toBe('accepted')
    expect(cleared.materials.at(-1)).toMatchObject({ code: 'staff-health-certificates', sha256: sha(health) })
    const healthAtXy = await download(fed.xiangyang, xyStaff, sha(health))
    expect(healthAtXy.status).toBe(200)
    expect(healthAtXy.bytes.equals(health)).toBe(true)

    // --- 补正 from 襄阳: the bundle waits for the applicant while that one department does. ------------------
    const asked = await call(
      fed.xiangyang,
      'POST',
      `/v1/cases/${remote}/events`,
      {
        type: 'supplement_requested',
        data: { materials: [{ code: 'food-safety-rules', note: '缺少进货查验制度' }], dueDate: cstDay(5) },
      },
      xyStaff,
    )
    expect(asked.status, JSON.stringify(asked.body)).toBe(201)
    await waitFor('the request at 十堰', async () => {
      const v = (await call(fed.shiyan, 'GET', `/v1/cases/${food}`, undefined, window)).body
      return v.status === 'supplement_requested'
    })
    expect((await call(fed.shiyan, 'GET', `/v1/cases/${parentId}`, undefined, window)).body.status).toBe(
      'supplement_requested',
    )
    const rules = files.pdf('食品安全管理制度（修订）')
    expect((await upload(fed.shiyan, window, rules, 'application/pdf')).status).toBe(201)
    const answered = await call(
      fed.shiyan,
      'POST',
      `/v1/cases/${food}/events`,
      { type: 'supplement_provided', data: { materials: [{ code: 'food-safety-rules', sha256: sha(rules) }] } },
      window,
    )
    expect(answered.status, JSON.stringify(answered.body)).toBe(201)
    expect((await call(fed.shiyan, 'GET', `/v1/cases/${parentId}`, undefined, window)).body.status).toBe('accepted')
    await waitFor('the revised rules at 襄阳', async () => {
      const v = (await call(fed.xiangyang, 'GET', `/v1/cases/${remote}`, undefined, xyStaff)).body
      return v.status === 'accepted' && v.materials.some((m: { sha256?: string }) => m.sha256 === sha(rules))
    })

    // --- 联合踏勘: 消防 and 民政 (养老机构备案) inspect the premises together. ----------------------------------
    const inspection = await call(
      fed.shiyan,
      'POST',
      `/v1/cases/${parentId}/inspections`,
      { children: [fire, home], date: cstDay(3), place: '十堰市张湾区车城路1号' },
      zwStaff,
    )
    expect(inspection.status, JSON.stringify(inspection.body)).toBe(201)
    for (const id of [fire, home]) {
      expect((await call(fed.shiyan, 'GET', `/v1/cases/${id}`, undefined, window)).body.suspended).toBe(true)
    }
    for (const id of [npo, clinic, food]) {
      expect((await call(fed.shiyan, 'GET', `/v1/cases/${id}`, undefined, window)).body.suspended).toBe(false)
    }
    // 襄阳 may not schedule an inspection of 张湾区's children: the parent does not exist there, and at 十堰 its
    // staff are no party to it.
    expect(
      (
        await call(
          fed.xiangyang,
          'POST',
          `/v1/cases/${parentId}/inspections`,
          { children: [fire, home], date: cstDay(3), place: '襄阳' },
          xyStaff,
        )
      ).status,
    ).toBe(404)
    const resumed = await call(
      fed.shiyan,
      'POST',
      `/v1/cases/${parentId}/inspections/${inspection.body.inspection.id}/complete`,
      undefined,
      zwStaff,
    )
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200)
    for (const id of [fire, home]) {
      const v = (await call(fed.shiyan, 'GET', `/v1/cases/${id}`, undefined, window)).body
      expect(v.suspended).toBe(false)
      expect((await typesOf(fed.shiyan, id, window)).slice(-3)).toEqual([
        'accepted',
        'inspection_scheduled',
        'inspection_completed',
      ])
    }

    // --- Decisions: 张湾区's departments first, then 襄阳's; the parent waits for the last child. --------------
    const decide = async (id: string, number: string) => {
      const r = await call(
        fed.shiyan,
        'POST',
        `/v1/cases/${id}/result`,
        { outcome: 'approved', decision: { number, date: cstDay(0) }, trust: 'B' },
        zwStaff,
      )
      expect(r.status, JSON.stringify(r.body)).toBe(201)
    }
    await decide(npo, '张民登〔2026〕1号')
    await decide(fire, '张消检〔2026〕2号')
    await decide(clinic, '张卫备〔2026〕3号')
    const xyResult = await call(
      fed.xiangyang,
      'POST',
      `/v1/cases/${remote}/result`,
      { outcome: 'approved', decision: { number: 'JY14206000012345', date: cstDay(0) }, trust: 'B' },
      xyStaff,
    )
    expect(xyResult.status, JSON.stringify(xyResult.body)).toBe(201)
    await waitFor('襄阳’s licence recognised at 十堰', async () =>
      (await typesOf(fed.shiyan, food, window)).includes('recognized'),
    )
    // Four of five decided: the parent is still open, and no result is issued yet.
    const open = (await call(fed.shiyan, 'GET', `/v1/cases/${parentId}`, undefined, window)).body
    expect(open.status).not.toBe('completed')
    const early = await call(fed.shiyan, 'GET', `/v1/cases/${parentId}/result`, undefined, window)
    expect(early.status, JSON.stringify(early.body)).not.toBe(200)
    expect((await typesOf(fed.shiyan, parentId, window)).filter((t) => t === 'completed')).toEqual([])

    await decide(home, '张民养备〔2026〕4号')
    const issued = await waitFor('every licence issued together', async () => {
      const r = await call(fed.shiyan, 'GET', `/v1/cases/${parentId}/result`, undefined, window)
      return r.status === 200 ? r.body : false
    })
    expect(issued.results.map((r: { case: string }) => r.case).sort()).toEqual([...local, food].sort())
    for (const r of issued.results) expect(r.verification.recognition).toEqual(expect.any(String))
    const byCase = new Map(issued.results.map((r: any) => [r.case, r.claims]))
    expect(byCase.get(food)).toMatchObject({ iss: 'gw-420600', region: '420600', item: 'food-business-licence' })
    for (const id of local) expect(byCase.get(id)).toMatchObject({ iss: 'gw-420300', region: '420303' })
    // 襄阳 gets its own licence from the parent, not the other departments' decisions.
    const xyIssued = await call(fed.shiyan, 'GET', `/v1/cases/${parentId}/result`, undefined, xyAtShiyan)
    expect(xyIssued.status).toBe(200)
    expect(xyIssued.body.results.map((r: { case: string }) => r.case)).toEqual([food])
    const done = (await call(fed.shiyan, 'GET', `/v1/cases/${parentId}`, undefined, window)).body
    expect(done).toMatchObject({ status: 'completed', outcome: 'approved' })
    // The parent completed once, after the last child.
    const parentEvents = (await call(fed.shiyan, 'GET', `/v1/cases/${parentId}/events`, undefined, window)).body.events
    expect(parentEvents.filter((e: { type: string }) => e.type === 'completed')).toHaveLength(1)
    const homeEvents = (await call(fed.shiyan, 'GET', `/v1/cases/${home}/events`, undefined, window)).body.events
    const homeCompleted = homeEvents.find((e: { type: string }) => e.type === 'completed')
    expect(parentEvents.at(-1).at >= homeCompleted.at).toBe(true)

    // --- 统一发证: handed over once, at the window, for all five. --------------------------------------------
    const handed = await call(
      fed.shiyan,
      'POST',
      `/v1/cases/${parentId}/events`,
      { type: 'result_delivered', data: { method: 'window_pickup' } },
      window,
    )
    expect(handed.status, JSON.stringify(handed.body)).toBe(201)
    for (const c of children) {
      expect((await call(fed.shiyan, 'GET', `/v1/cases/${c.id}`, undefined, window)).body.status).toBe(
        'result_delivered',
      )
    }
    // 襄阳 hears that its licence was handed over.
    await waitFor('the hand-over at 襄阳', async () => {
      const v = (await call(fed.xiangyang, 'GET', `/v1/cases/${remote}`, undefined, xyStaff)).body
      return v.status === 'result_delivered'
    })
    // One rating for the whole thing.
    const rated = await call(
      fed.shiyan,
      'POST',
      `/v1/cases/${parentId}/events`,
      { type: 'rated', data: { score: 5 } },
      window,
    )
    expect(rated.status, JSON.stringify(rated.body)).toBe(201)

    // The evidence of the parent, of 襄阳's child at 十堰 and of 襄阳's own case verifies offline.
    for (const [side, caseId, token] of [
      [fed.shiyan, parentId, window],
      [fed.shiyan, food, window],
      [fed.xiangyang, remote, xyStaff],
    ] as const) {
      const bundle = await call(side, 'GET', `/v1/cases/${caseId}/evidence`, undefined, token)
      expect(bundle.status, JSON.stringify(bundle.body)).toBe(200)
      const file = path.join(side.dir, `evidence-${caseId}.json`)
      await writeFile(file, JSON.stringify(bundle.body))
      const checked = await runCli(['verify-evidence', file, '--jwks', `${side.gw.url}/.well-known/jwks.json`])
      expect(checked.code, checked.stdout + checked.stderr).toBe(0)
    }
  }, 180_000)

  it('a file whose bytes do not match its SHA-256 is refused by the receiving gateway, and stored nowhere there', async () => {
    const layout = files.pdf('经营场所平面布局图（被篡改）')
    const hash = sha(layout)
    expect((await upload(fed.shiyan, window, layout, 'application/pdf')).status).toBe(201)
    // The bytes change at rest at 十堰 after upload: what 十堰 now serves no longer hashes to the reference.
    await sqlQuery(fed.shiyan.env.DATABASE_URL as string, 'update files set content = $2 where sha256 = $1', [
      hash,
      files.pdf('另一份文件'),
    ])
    const created = await call(
      fed.shiyan,
      'POST',
      '/v1/cases',
      elderlyCareHome({
        agent: undefined,
        externalRef: 'ZW-YLY-E2E-2',
        processingRegions: { 'food-business-licence': '420600' },
        materials: elderlyCareHome().materials.map((m) =>
          m.code === 'food-premises-layout' ? { code: m.code, form: 'electronic', sha256: hash } : m,
        ),
      }),
      window,
      { 'idempotency-key': 'e2e-yly-2' },
    )
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const food = (created.body.case.children as { id: string; item: string }[]).find(
      (c) => c.item === 'food-business-licence',
    )?.id as string
    // 襄阳 refuses the delivery (422 unknown_file: a refusal that will not change), so 十堰 gives up at once.
    const types = await waitFor('the delivery refused', async () => {
      const t = await typesOf(fed.shiyan, food, window)
      return t.includes('delivery_failed') ? t : false
    })
    expect(types).toEqual(['submitted', 'delivery_failed'])
    const failed = (await call(fed.shiyan, 'GET', `/v1/cases/${food}/events`, undefined, window)).body.events[1]
    expect(JSON.stringify(failed.data)).toContain('unknown_file')
    const letters = (await call(fed.shiyan, 'GET', '/v1/admin/dead-letters')).body
    expect(JSON.stringify(letters)).toContain(food)
    // Nothing of it at 襄阳: no case, and no file by that hash.
    const xyCases = (await call(fed.xiangyang, 'GET', '/v1/cases?limit=200', undefined, xyStaff)).body.cases
    expect(xyCases.map((c: { externalRef: string }) => c.externalRef)).not.toContain(food)
    const [row] = await sqlQuery<{ n: number }>(
      fed.xiangyang.env.DATABASE_URL as string,
      'select count(*)::int as n from files where sha256 = $1',
      [hash],
    )
    expect(row?.n).toBe(0)
    // The other parts went out all the same, each on its own.
    for (const c of created.body.case.children as { id: string }[]) {
      if (c.id !== food) expect(await typesOf(fed.shiyan, c.id, window)).toContain('dispatched')
    }
    // The parent shows which part waits for an admin's re-drive.
    expect((await call(fed.shiyan, 'GET', `/v1/cases/${created.body.case.id}`, undefined, window)).body.status).toBe(
      'delivery_failed',
    )
  }, 60_000)

  it('withdrawn once on the parent: every part stops, 襄阳’s too', async () => {
    const created = await call(
      fed.shiyan,
      'POST',
      '/v1/cases',
      elderlyCareHome({
        agent: undefined,
        externalRef: 'ZW-YLY-E2E-3',
        processingRegions: { 'food-business-licence': '420600' },
      }),
      window,
      { 'idempotency-key': 'e2e-yly-3' },
    )
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const children = created.body.case.children as { id: string; item: string }[]
    const food = children.find((c) => c.item === 'food-business-licence')?.id as string
    await waitFor('every child dispatched', async () => {
      for (const c of children) if (!(await typesOf(fed.shiyan, c.id, window)).includes('dispatched')) return false
      return true
    })
    const remote = (await call(fed.shiyan, 'GET', `/v1/cases/${food}/events`, undefined, window)).body.events[1].data
      .remoteRef as string
    const withdrawn = await call(
      fed.shiyan,
      'POST',
      `/v1/cases/${created.body.case.id}/events`,
      { type: 'withdrawn', data: { reason: '申请人撤回' } },
      window,
    )
    expect(withdrawn.status, JSON.stringify(withdrawn.body)).toBe(201)
    for (const c of children) {
      expect((await call(fed.shiyan, 'GET', `/v1/cases/${c.id}`, undefined, window)).body.status).toBe('withdrawn')
    }
    const there = await waitFor('the withdrawal at 襄阳', async () => {
      const events = (await call(fed.xiangyang, 'GET', `/v1/cases/${remote}/events`, undefined, xyStaff)).body.events
      return events.at(-1)?.type === 'withdrawn' ? events.at(-1) : false
    })
    expect(there.data).toEqual({ reason: '申请人撤回' })
  }, 60_000)
})
