/**
 * GET /v1/admin/reports/performance over a hand-computed fixture of cases written straight into the
 * case table (the columns the deadline clock maintains), and the rating flow that fills one of them.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'

let t: TestApp
let shiyan: TestClient
let xiangyang: TestClient

interface Fixture {
  id: string
  processing: string | null
  origin: string
  window?: string
  department: string
  item?: string
  scope?: string
  mode?: string
  status: string
  created: string
  completed?: string
  rejected?: string
  overdue?: string
  handling?: number
  budget?: number
  onTime?: boolean
  /** The deadline clock: working days used before `running` (an instant), the running period's start. */
  used?: number
  running?: string
  rating?: number
  rated?: string
  supplements?: number
  parent?: string
}

const cst = (local: string) => `${local}T12:00:00+08:00`

async function insert(f: Fixture) {
  await t.runtime.database.query(
    `insert into cases (id, created_by, created_by_kind, item, mode, scope, origin_region, processing_region, status,
        applicant_kind, applicant_name, applicant_id_type, applicant_id_enc, applicant_id_hmac, applicant_id_masked,
        agent_window, form, materials, body_hash, receipt, created_at, updated_at, department, completed_at,
        rejected_at, overdue_at, handling_days, clock_budget_days, on_time, rating, rated_at, supplement_rounds,
        parent_id, clock_used_days, clock_running_since)
     values ($1, 'fixture', 'client', $2, $3, $4, $5, $6, $7, 'person', '测试', 'resident_id', '\\x00', '\\x00',
        '420303********1234', $8, '{}', '[]', 'x', 'x', $9, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
        $20, $21, $22)`,
    [
      f.id,
      f.item ?? 'hukou-certificate',
      f.mode ?? 'online_transfer',
      f.scope ?? 'cross_city',
      f.origin,
      f.processing,
      f.status,
      f.window ?? null,
      cst(f.created),
      f.department,
      f.completed ? cst(f.completed) : null,
      f.rejected ? cst(f.rejected) : null,
      f.overdue ? cst(f.overdue) : null,
      f.handling ?? null,
      f.budget ?? null,
      f.onTime ?? null,
      f.rating ?? null,
      f.rated ? cst(f.rated) : null,
      f.supplements ?? 0,
      f.parent ?? null,
      f.used ?? 0,
      f.running ?? null,
    ],
  )
}

const fixture: Fixture[] = [
  // Processed in 襄阳 (420600), collected at 张湾 windows, in October unless said otherwise.
  {
    id: 'fx-c1',
    processing: '420600',
    origin: '420303',
    window: 'ZW-01',
    department: '公安',
    status: 'result_delivered',
    created: '2026-10-02',
    completed: '2026-10-10',
    handling: 2,
    budget: 5,
    onTime: true,
    rating: 5,
    rated: '2026-10-12',
    supplements: 1,
  },
  {
    id: 'fx-c2',
    processing: '420600',
    origin: '420303',
    window: 'ZW-01',
    department: '公安',
    status: 'result_delivered',
    created: '2026-10-03',
    completed: '2026-10-20',
    handling: 8,
    budget: 5,
    onTime: false,
    rating: 2,
    rated: '2026-10-21',
  },
  {
    id: 'fx-c3',
    processing: '420600',
    origin: '420600',
    department: '人社',
    status: 'completed',
    mode: 'full_online',
    scope: 'within_city',
    item: 'pension-transfer-employee',
    created: '2026-10-05',
    completed: '2026-10-08',
    handling: 1,
    budget: 5,
    onTime: true,
  },
  // Accepted Thu 8 Oct 12:00 with 5.5 working days (due Wed 14 Oct), overdue on the 15th, still open. At
  // Wed 4 Nov 12:00 (NOW) its clock has run 20 working days (8 Oct ½, 9, 10 (a 调休 Saturday), 12–16, 19–23,
  // 26–30, 2, 3 Nov, 4 Nov ½): 14.5 beyond its limit.
  {
    id: 'fx-c4',
    processing: '420600',
    origin: '420303',
    window: 'ZW-02',
    department: '公安',
    status: 'accepted',
    created: '2026-10-06',
    overdue: '2026-10-15',
    budget: 5.5,
    used: 0,
    running: '2026-10-08T12:00:00+08:00',
  },
  // Collected in 襄阳 for 十堰 (420300), rejected there.
  {
    id: 'fx-c5',
    processing: '420300',
    origin: '420600',
    window: 'XY-01',
    department: '人社',
    status: 'rejected',
    created: '2026-10-07',
    rejected: '2026-10-09',
  },
  // Submitted in September, completed in October: counts as completed, not in the volume.
  {
    id: 'fx-c6',
    processing: '420600',
    origin: '420303',
    window: 'ZW-01',
    department: '公安',
    status: 'completed',
    created: '2026-09-20',
    completed: '2026-10-02',
    handling: 4,
    budget: 5,
    onTime: true,
  },
  // After the period: nothing.
  {
    id: 'fx-c7',
    processing: '420600',
    origin: '420303',
    window: 'ZW-01',
    department: '公安',
    status: 'submitted',
    created: '2026-11-05',
  },
  // Overdue since August and still open: overdue now, whenever submitted. Its clock stopped (suspended)
  // at 12.25 working days of 10: 2.25 beyond, however late it is now.
  {
    id: 'fx-c8',
    processing: '420300',
    origin: '420300',
    department: '人社',
    status: 'in_review',
    scope: 'within_city',
    created: '2026-08-01',
    overdue: '2026-09-01',
    budget: 10,
    used: 12.25,
  },
  // Submitted in September, overdue on 20 October, completed on 3 November (after the period): in October
  // it went overdue (wentOverdue), though neither submitted, completed nor open now.
  {
    id: 'fx-c9',
    processing: '420600',
    origin: '420303',
    window: 'ZW-01',
    department: '公安',
    status: 'completed',
    created: '2026-09-25',
    overdue: '2026-10-20',
    completed: '2026-11-03',
    handling: 9,
    budget: 5,
    onTime: false,
  },
  // Submitted in September, overdue on 30 October and still open; its clock restarted Wed 28 Oct 15:00 with
  // 4 of 5 working days used. At NOW: 4 + 0.375 + 29, 30 Oct + 2, 3 Nov + ½ = 8.875, 3.875 beyond.
  {
    id: 'fx-c10',
    processing: '420600',
    origin: '420600',
    department: '人社',
    item: 'pension-transfer-employee',
    scope: 'within_city',
    mode: 'full_online',
    status: 'in_review',
    created: '2026-09-28',
    overdue: '2026-10-30',
    budget: 5,
    used: 4,
    running: '2026-10-28T15:00:00+08:00',
  },
  // A parent (thing) case: its children count, it does not.
  { id: 'fx-p1', processing: null, origin: '420303', department: '公安', status: 'submitted', created: '2026-10-04' },
]

/**
 * December: a bundle (a parent and three children in two regions and two departments) rated 4 once, on its
 * parent, beside a single case rated 2. The children are the cases handled; the bundle's rating counts for
 * each group holding any of its children, once per group.
 */
const family: Fixture[] = [
  {
    id: 'fm-parent',
    processing: null,
    origin: '420303',
    window: 'ZW-03',
    department: '民政',
    status: 'result_delivered',
    created: '2026-12-01',
    rating: 4,
    rated: '2026-12-20',
  },
  ...(
    [
      ['fm-k1', '420600', '公安', 'hukou-certificate', '2026-12-10', 2],
      ['fm-k2', '420600', '人社', 'pension-transfer-employee', '2026-12-12', 3],
      ['fm-k3', '420300', '人社', 'pension-transfer-employee', '2026-12-15', 4],
    ] as const
  ).map(([id, processing, department, item, completed, handling]) => ({
    id,
    parent: 'fm-parent',
    processing,
    origin: '420303',
    window: 'ZW-03',
    department,
    item,
    status: 'result_delivered',
    created: '2026-12-01',
    completed,
    handling,
    budget: 5,
    onTime: true,
  })),
  {
    id: 'fm-single',
    processing: '420600',
    origin: '420303',
    window: 'ZW-03',
    department: '公安',
    status: 'result_delivered',
    created: '2026-12-02',
    completed: '2026-12-05',
    handling: 1,
    budget: 5,
    onTime: true,
    rating: 2,
    rated: '2026-12-06',
  },
]

/**
 * February 2027: two regions each with a window called 大厅 DT-01. 十堰's collects for 襄阳 (代收), 襄阳's
 * collects for 十堰 and takes one case of its own: two windows, not one.
 */
const twins: Fixture[] = [
  {
    id: 'tw-1',
    processing: '420300',
    origin: '420600',
    window: 'DT-01',
    department: '公安',
    status: 'submitted',
    created: '2027-02-03',
  },
  {
    id: 'tw-2',
    processing: '420600',
    origin: '420300',
    window: 'DT-01',
    department: '公安',
    status: 'submitted',
    created: '2027-02-04',
  },
  {
    id: 'tw-3',
    processing: '420600',
    origin: '420600',
    window: 'DT-01',
    department: '公安',
    scope: 'within_city',
    status: 'completed',
    created: '2027-02-05',
    completed: '2027-02-10',
    handling: 3,
    budget: 5,
    onTime: true,
  },
]

const period = 'from=2026-10-01&to=2026-11-01'
/** When the report is asked (the open overdue cases' clocks run until then). */
const NOW = '2026-11-04T12:00:00+08:00'
const TEST_CLOCK = '2026-09-29T09:00:00+08:00'

beforeAll(async () => {
  t = await createTestApp()
  shiyan = await t.client('shiyan-gov', ['420300'])
  xiangyang = await t.client('xiangyang-gov', ['420600'])
  for (const f of [...fixture, ...family, ...twins]) await insert(f)
})

afterAll(async () => {
  await t?.close()
})

const zero = {
  region: null,
  volume: 0,
  completed: 0,
  onTime: 0,
  onTimeRate: null,
  late: 0,
  avgDaysLate: null,
  avgHandlingDays: null,
  p90HandlingDays: null,
  overdueNow: 0,
  wentOverdue: 0,
  avgDaysOverdueNow: null,
  rejections: 0,
  supplementRounds: 0,
  ratings: 0,
  avgRating: null,
}

describe('GET /v1/admin/reports/performance', () => {
  beforeEach(() => t.clock.set(NOW))

  it('by region: the hand-computed figures, with 代收 and 被代收', async () => {
    const res = await t.admin('GET', `/v1/admin/reports/performance?${period}&by=region`)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body.from).toBe('2026-09-30T16:00:00.000Z')
    expect(res.body.rows).toEqual([
      {
        ...zero,
        key: '420300',
        volume: 1,
        overdueNow: 1,
        // fx-c8, its clock stopped 2.25 beyond.
        avgDaysOverdueNow: 2.25,
        rejections: 1,
        collectedForOthers: 0,
        collectedByOthers: 1,
      },
      { ...zero, key: '420303', collectedForOthers: 3, collectedByOthers: 0 },
      {
        key: '420600',
        region: null,
        volume: 4,
        completed: 4,
        onTime: 3,
        onTimeRate: 0.75,
        late: 1,
        avgDaysLate: 3,
        avgHandlingDays: 3.75,
        // percentile_cont over 1, 2, 4, 8: 4 + 0.7 × (8 − 4)
        p90HandlingDays: 6.8,
        // fx-c4 and fx-c10, open and overdue.
        overdueNow: 2,
        // fx-c4 (15 Oct, open), fx-c9 (20 Oct, completed in November), fx-c10 (30 Oct, open).
        wentOverdue: 3,
        // (14.5 + 3.875) / 2 = 9.1875
        avgDaysOverdueNow: 9.188,
        rejections: 0,
        supplementRounds: 1,
        ratings: 2,
        avgRating: 3.5,
        collectedForOthers: 1,
        collectedByOthers: 3,
      },
    ])
  })

  it('by window: each window’s collections for others and what others collected for its region', async () => {
    const res = await t.admin('GET', `/v1/admin/reports/performance?${period}&by=window`)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body.rows).toEqual([
      {
        ...zero,
        key: 'XY-01',
        region: '420600',
        volume: 1,
        rejections: 1,
        collectedForOthers: 1,
        collectedByOthers: 3,
      },
      {
        key: 'ZW-01',
        region: '420303',
        volume: 2,
        completed: 3,
        onTime: 2,
        onTimeRate: 0.667,
        late: 1,
        avgDaysLate: 3,
        avgHandlingDays: 4.667,
        p90HandlingDays: 7.2,
        overdueNow: 0,
        // fx-c9: overdue in October, completed after it.
        wentOverdue: 1,
        avgDaysOverdueNow: null,
        rejections: 0,
        supplementRounds: 1,
        ratings: 2,
        avgRating: 3.5,
        collectedForOthers: 2,
        collectedByOthers: 0,
      },
      {
        ...zero,
        key: 'ZW-02',
        region: '420303',
        volume: 1,
        overdueNow: 1,
        wentOverdue: 1,
        avgDaysOverdueNow: 14.5,
        collectedForOthers: 1,
        collectedByOthers: 0,
      },
    ])
  })

  it('by window: a window is its region and its id, so two regions’ DT-01 stay apart (代收, 被代收 included)', async () => {
    const res = await t.admin('GET', '/v1/admin/reports/performance?from=2027-02-01&to=2027-03-01&by=window')
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body.rows).toEqual([
      // 十堰's DT-01: tw-2, collected for 襄阳; 襄阳's DT-01 collected tw-1 for 十堰.
      { ...zero, key: 'DT-01', region: '420300', volume: 1, collectedForOthers: 1, collectedByOthers: 1 },
      // 襄阳's DT-01: tw-1 (for 十堰) and tw-3 (its own); 十堰's DT-01 collected tw-2 for 襄阳.
      {
        ...zero,
        key: 'DT-01',
        region: '420600',
        volume: 2,
        completed: 1,
        onTime: 1,
        onTimeRate: 1,
        avgHandlingDays: 3,
        p90HandlingDays: 3,
        collectedForOthers: 1,
        collectedByOthers: 1,
      },
      // fx-c4, open and overdue whatever the period.
      {
        ...zero,
        key: 'ZW-02',
        region: '420303',
        overdueNow: 1,
        avgDaysOverdueNow: 14.5,
        collectedForOthers: 0,
        collectedByOthers: 0,
      },
    ])
    const csv = await t.admin(
      'GET',
      '/v1/admin/reports/performance?from=2027-02-01&to=2027-03-01&by=window',
      undefined,
      {
        accept: 'text/csv',
      },
    )
    const lines = String(csv.body).trim().split('\r\n')
    expect(lines[0]).toMatch(/^window,region,volume,/)
    expect(lines.slice(1, 3)).toEqual([
      'DT-01,420300,1,0,0,,0,,,,0,0,,0,0,0,,1,1',
      'DT-01,420600,2,1,1,1,0,,3,3,0,0,,0,0,0,,1,1',
    ])
  })

  it('by department, item, scope and mode (no 代收 columns there)', async () => {
    const res = await t.admin('GET', `/v1/admin/reports/performance?${period}&by=department`)
    expect(res.status).toBe(200)
    const row = (key: string) => res.body.rows.find((r: { key: string }) => r.key === key)
    expect(row('人社')).toEqual({
      ...zero,
      key: '人社',
      volume: 2,
      completed: 1,
      onTime: 1,
      onTimeRate: 1,
      avgHandlingDays: 1,
      p90HandlingDays: 1,
      // fx-c8 and fx-c10: (2.25 + 3.875) / 2 = 3.0625
      overdueNow: 2,
      wentOverdue: 1,
      avgDaysOverdueNow: 3.063,
      rejections: 1,
      collectedForOthers: null,
      collectedByOthers: null,
    })
    expect(row('公安')).toMatchObject({
      volume: 3,
      completed: 3,
      onTime: 2,
      overdueNow: 1,
      late: 1,
      wentOverdue: 2,
      avgDaysOverdueNow: 14.5,
    })
    for (const by of ['item', 'scope', 'mode']) {
      const r = await t.admin('GET', `/v1/admin/reports/performance?${period}&by=${by}`)
      expect(r.status).toBe(200)
      const total = r.body.rows.reduce((n: number, row: { volume: number }) => n + row.volume, 0)
      expect(total, by).toBe(5)
    }
  })

  it('answers CSV for Accept: text/csv', async () => {
    const res = await t.admin('GET', `/v1/admin/reports/performance?${period}&by=region`, undefined, {
      accept: 'text/csv',
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/csv')
    const lines = String(res.body).trim().split('\r\n')
    expect(lines[0]).toBe(
      'region,volume,completed,onTime,onTimeRate,late,avgDaysLate,avgHandlingDays,p90HandlingDays,overdueNow,wentOverdue,avgDaysOverdueNow,rejections,supplementRounds,ratings,avgRating,collectedForOthers,collectedByOthers',
    )
    expect(lines).toContain('420600,4,4,3,0.75,1,3,3.75,6.8,2,3,9.188,0,1,2,3.5,1,3')
    expect(lines).toContain('420303,0,0,0,,0,,,,0,0,,0,0,0,,3,0')
  })

  it.each([
    ['to before from', 'from=2026-11-01&to=2026-10-01', 400],
    ['an unknown dimension', `${period}&by=city`, 400],
    ['a malformed date', 'from=2026-13-01&to=2026-11-01', 400],
    ['from without to', 'from=2026-10-01', 400],
    ['a period over three years', 'from=2020-01-01&to=2026-01-01', 400],
  ])('refuses %s', async (_what, query, status) => {
    const res = await t.admin('GET', `/v1/admin/reports/performance?${query}`)
    expect(res.status, JSON.stringify(res.body)).toBe(status)
    expect(res.headers.get('content-type')).toContain('application/problem+json')
  })

  it('without a period, reports last calendar month (CST)', async () => {
    // The test clock is 29 Sep 2026: August.
    t.clock.set(TEST_CLOCK)
    const res = await t.admin('GET', '/v1/admin/reports/performance?by=region')
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect([res.body.from, res.body.to]).toEqual(['2026-07-31T16:00:00.000Z', '2026-08-31T16:00:00.000Z'])
    // fx-c8, submitted 1 Aug and overdue since; fx-c4 and fx-c10 are overdue now too (a snapshot, whenever
    // submitted). Nothing went overdue in August.
    expect(res.body.rows).toEqual([
      expect.objectContaining({ key: '420300', volume: 1, overdueNow: 1, wentOverdue: 0 }),
      expect.objectContaining({ key: '420600', volume: 0, overdueNow: 2, wentOverdue: 0 }),
    ])
  })

  it('is for admins only', async () => {
    const operator = await t.operator('420303', 'ZW-01')
    expect((await operator.call('GET', `/v1/admin/reports/performance?${period}`)).status).toBe(403)
    expect((await operator.call('GET', '/v1/admin/reports/performance')).status).toBe(403)
    expect((await xiangyang.call('GET', `/v1/admin/reports/performance?${period}`)).status).toBe(403)
    expect((await t.call('GET', `/v1/admin/reports/performance?${period}`)).status).toBe(401)
  })
})

describe('GET /v1/admin/reports/volume', () => {
  beforeEach(() => t.clock.set('2026-10-10T12:00:00+08:00'))

  it('counts the fixture’s submissions and completions per CST day, ending today, zero days included', async () => {
    const res = await t.admin('GET', '/v1/admin/reports/volume?days=10')
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect([res.body.from, res.body.to]).toEqual(['2026-10-01', '2026-10-10'])
    // Parent cases (no processing region) do not count, as in the performance report.
    const rows = [...fixture, ...family, ...twins].filter((f) => f.processing !== null)
    const expected = Array.from({ length: 10 }, (_, i) => {
      const day = `2026-10-${String(i + 1).padStart(2, '0')}`
      return {
        day,
        submitted: rows.filter((f) => f.created === day).length,
        completed: rows.filter((f) => f.completed === day).length,
      }
    })
    expect(res.body.days).toEqual(expected)
    expect(expected.some((d) => d.submitted === 0) && expected.some((d) => d.completed > 0)).toBe(true)
  })

  it('defaults to 30 days and refuses a length out of range', async () => {
    const res = await t.admin('GET', '/v1/admin/reports/volume')
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body.days).toHaveLength(30)
    expect(res.body.from).toBe('2026-09-11')
    for (const days of ['0', '367', '1.5', 'x']) {
      const bad = await t.admin('GET', `/v1/admin/reports/volume?days=${days}`)
      expect(bad.status, JSON.stringify(bad.body)).toBe(400)
    }
  })

  it('is for admins and auditors only', async () => {
    const operator = await t.operator('420303', 'ZW-01')
    expect((await operator.call('GET', '/v1/admin/reports/volume')).status).toBe(403)
    expect((await xiangyang.call('GET', '/v1/admin/reports/volume')).status).toBe(403)
    expect((await t.call('GET', '/v1/admin/reports/volume')).status).toBe(401)
  })
})

describe('a bundle in the report: its children counted, its one rating not lost nor multiplied', () => {
  const december = 'from=2026-12-01&to=2027-01-01'
  const report = async (by: string) => {
    const res = await t.admin('GET', `/v1/admin/reports/performance?${december}&by=${by}`)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    return res.body.rows as Record<string, unknown>[]
  }
  const done = { completed: 0, onTime: 0, onTimeRate: 1 }
  beforeEach(() => t.clock.set(NOW))

  it('by region: each child where it was handled, the parent nowhere; the rating once per region', async () => {
    expect(await report('region')).toEqual([
      {
        ...zero,
        ...done,
        key: '420300',
        volume: 1,
        completed: 1,
        onTime: 1,
        avgHandlingDays: 4,
        p90HandlingDays: 4,
        // fx-c8, open and overdue since September: a snapshot.
        overdueNow: 1,
        avgDaysOverdueNow: 2.25,
        ratings: 1,
        avgRating: 4,
        collectedForOthers: 0,
        collectedByOthers: 1,
      },
      { ...zero, key: '420303', collectedForOthers: 4, collectedByOthers: 0 },
      {
        ...zero,
        ...done,
        key: '420600',
        volume: 3,
        completed: 3,
        onTime: 3,
        avgHandlingDays: 2,
        // percentile_cont over 1, 2, 3: 2 + 0.8 × (3 − 2)
        p90HandlingDays: 2.8,
        // fx-c4 and fx-c10: a snapshot.
        overdueNow: 2,
        avgDaysOverdueNow: 9.188,
        // The bundle's 4 once (two of its children are here) and the single case's 2.
        ratings: 2,
        avgRating: 3,
        collectedForOthers: 0,
        collectedByOthers: 3,
      },
    ])
  })

  it('by department, item and window: the same rule', async () => {
    const pick = (rows: Record<string, unknown>[]) =>
      Object.fromEntries(rows.map((r) => [r.key, [r.volume, r.completed, r.ratings, r.avgRating]]))
    expect(pick(await report('department'))).toEqual({ 公安: [2, 2, 2, 3], 人社: [2, 2, 1, 4] })
    expect(pick(await report('item'))).toEqual({
      'hukou-certificate': [2, 2, 2, 3],
      'pension-transfer-employee': [2, 2, 1, 4],
    })
    // (ZW-02 shows too, for fx-c4 overdue now.)
    expect(pick(await report('window'))['ZW-03']).toEqual([4, 4, 2, 3])
    // Every case handled counts once in the volume: three children and the single case, not the parent.
    for (const by of ['scope', 'mode']) {
      const total = (await report(by)).reduce((n, r) => n + Number(r.volume), 0)
      expect(total, by).toBe(4)
    }
  })
})

describe('ratings (好差评)', () => {
  beforeEach(() => t.clock.set(TEST_CLOCK))

  it('the origin rates once, after the result is delivered; score and comment are kept for the report', async () => {
    const body = JSON.stringify(hukouCertificate({ externalRef: 'RATE-1' }))
    const created = await shiyan.call('POST', '/v1/cases', body, { 'idempotency-key': 'rate-1' })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const id = created.body.case.id
    const post = (who: TestClient, event: unknown) => who.call('POST', `/v1/cases/${id}/events`, event)
    const rating = { type: 'rated', data: { score: 4, comment: '办得快' } }

    await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched', {})
    expect((await post(xiangyang, { type: 'accepted' })).status).toBe(201)
    const early = await post(shiyan, rating)
    expect(early.status).toBe(409)
    expect(early.body.code).toBe('invalid_transition')
    await recordGatewayEvent(t.runtime.deps.cases, id, 'completed', {}, { outcome: 'approved' })
    expect((await post(shiyan, { type: 'result_delivered', data: { method: 'electronic' } })).status).toBe(201)

    expect((await post(xiangyang, rating)).status).toBe(403)
    expect((await post(shiyan, { type: 'rated', data: { score: 6 } })).status).toBe(400)
    expect((await post(shiyan, { type: 'rated', data: {} })).status).toBe(400)
    const first = await post(shiyan, rating)
    expect(first.status, JSON.stringify(first.body)).toBe(201)
    const second = await post(shiyan, { type: 'rated', data: { score: 1 } })
    expect(second.status).toBe(409)
    expect(second.body.detail).toContain('already rated')

    const [row] = await t.runtime.database.query<{ rating: number; rating_comment: string; rated: boolean }>(
      'select rating, rating_comment, rated from cases where id = $1',
      [id],
    )
    expect(row).toEqual({ rating: 4, rating_comment: '办得快', rated: true })
    // In the report of the day it was rated (the test clock: 29 Sep 2026).
    const report = await t.admin('GET', '/v1/admin/reports/performance?from=2026-09-29&to=2026-09-30&by=item')
    const item = report.body.rows.find((r: { key: string }) => r.key === 'hukou-certificate')
    expect(item).toMatchObject({ ratings: 1, avgRating: 4, volume: 1, completed: 1 })
  })
})
