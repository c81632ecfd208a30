import { describe, expect, it } from 'vitest'
import type { Mode } from '../../config/schema.js'
import {
  allowedEvents,
  applyEvent,
  CaseStatus,
  EventType,
  eventSide,
  finalStatuses,
  isFinal,
  type LifecycleState,
  PartyEvent,
} from '../../src/domain/lifecycle.js'

const state = (status: CaseStatus, over: Partial<LifecycleState> = {}): LifecycleState => ({
  status,
  mode: 'online_transfer',
  suspended: false,
  rated: false,
  ...over,
})

/**
 * Written by hand from PROTOCOL §4 and the rules, not from the implementation: for each event, the statuses
 * it is allowed in and the status it leads to. A pair not listed is refused.
 */
type Table = Record<EventType, Partial<Record<CaseStatus, CaseStatus>>>
const beforeCompletion = {
  submitted: 'withdrawn',
  dispatched: 'withdrawn',
  delivery_failed: 'withdrawn',
  materials_shipped: 'withdrawn',
  materials_received: 'withdrawn',
  accepted: 'withdrawn',
  supplement_requested: 'withdrawn',
  in_review: 'withdrawn',
} as const
const clockRuns = {
  submitted: 'submitted',
  dispatched: 'dispatched',
  materials_shipped: 'materials_shipped',
  materials_received: 'materials_received',
  accepted: 'accepted',
  supplement_requested: 'supplement_requested',
  in_review: 'in_review',
} as const
const onlineTable: Table = {
  submitted: {},
  dispatched: { submitted: 'dispatched' },
  delivery_failed: { submitted: 'delivery_failed' },
  redriven: { delivery_failed: 'submitted' },
  materials_shipped: {},
  materials_received: { materials_shipped: 'materials_received' },
  accepted: { dispatched: 'accepted' },
  rejected: { dispatched: 'rejected' },
  supplement_requested: { accepted: 'supplement_requested' },
  supplement_provided: { supplement_requested: 'accepted' },
  in_review: { accepted: 'in_review' },
  suspended: { accepted: 'accepted', supplement_requested: 'supplement_requested', in_review: 'in_review' },
  resumed: {},
  inspection_scheduled: { accepted: 'accepted', supplement_requested: 'supplement_requested', in_review: 'in_review' },
  inspection_completed: {},
  completed: { accepted: 'completed', in_review: 'completed' },
  recognized: { completed: 'completed', result_delivered: 'result_delivered' },
  recognition_failed: {
    accepted: 'accepted',
    in_review: 'in_review',
    completed: 'completed',
    result_delivered: 'result_delivered',
  },
  result_delivered: { completed: 'result_delivered' },
  rated: { result_delivered: 'result_delivered', closed: 'closed' },
  closed: { result_delivered: 'closed', rejected: 'closed' },
  withdrawn: beforeCompletion,
  deadline_warning: clockRuns,
  overdue: clockRuns,
  // Only with materials outstanding (容缺), tested below; none are in these states.
  materials_overdue: {},
}
const offlineTable: Table = {
  ...onlineTable,
  materials_shipped: { dispatched: 'materials_shipped' },
  accepted: { materials_received: 'accepted' },
  rejected: { materials_received: 'rejected' },
}
const tables: [Mode, Table][] = [
  ['online_transfer', onlineTable],
  ['full_online', onlineTable],
  ['multi_site', onlineTable],
  ['offline_proxy', offlineTable],
]

describe('the enums', () => {
  it('has 13 statuses and 25 event types', () => {
    expect(CaseStatus.options).toHaveLength(13)
    expect(EventType.options).toHaveLength(25)
  })

  it('knows which side posts each event', () => {
    const by = (side: string) => EventType.options.filter((t) => eventSide[t] === side).sort((a, b) => (a < b ? -1 : 1))
    expect(by('processing')).toEqual(
      [
        'accepted',
        'in_review',
        'materials_received',
        'rejected',
        'resumed',
        'supplement_requested',
        'suspended',
      ].sort(),
    )
    expect(by('origin')).toEqual(
      [
        'closed',
        'inspection_completed',
        'inspection_scheduled',
        'materials_shipped',
        'rated',
        'result_delivered',
        'supplement_provided',
        'withdrawn',
      ].sort(),
    )
    expect(by('gateway')).toEqual(
      [
        'completed',
        'deadline_warning',
        'delivery_failed',
        'dispatched',
        'materials_overdue',
        'overdue',
        'recognition_failed',
        'recognized',
        'redriven',
        'submitted',
      ].sort(),
    )
  })

  it('marks the final statuses', () => {
    expect([...finalStatuses].sort()).toEqual(
      ['closed', 'completed', 'delivery_failed', 'rejected', 'result_delivered', 'withdrawn'].sort(),
    )
    expect(isFinal('completed')).toBe(true)
    expect(isFinal('in_review')).toBe(false)
  })
})

describe.each(tables)('applyEvent, every (status, event) pair in mode %s', (mode, table) => {
  const pairs = CaseStatus.options.flatMap((status) => EventType.options.map((type) => [status, type] as const))

  it('covers 13 × 25 pairs', () => {
    expect(pairs).toHaveLength(325)
  })

  it.each(pairs)('%s + %s', (status, type) => {
    const result = applyEvent(state(status, { mode }), type)
    const expected = table[type][status]
    if (expected === undefined) {
      expect(result.ok, JSON.stringify(result)).toBe(false)
      if (!result.ok) {
        expect(result.reason).toContain(type)
        expect(result.reason).toContain(`status ${status}`)
      }
      return
    }
    expect(result, JSON.stringify(result)).toEqual({
      ok: true,
      state: {
        status: expected,
        mode,
        suspended: type === 'suspended' || type === 'inspection_scheduled',
        rated: type === 'rated',
      },
    })
  })
})

describe('offline_proxy', () => {
  const offline = (status: CaseStatus) => state(status, { mode: 'offline_proxy' })

  it('walks dispatched → materials_shipped → materials_received → accepted', () => {
    let s = offline('dispatched')
    for (const [type, status] of [
      ['materials_shipped', 'materials_shipped'],
      ['materials_received', 'materials_received'],
      ['accepted', 'accepted'],
    ] as const) {
      const r = applyEvent(s, type)
      if (!r.ok) throw new Error(r.reason)
      expect(r.state.status).toBe(status)
      s = r.state
    }
  })

  it('refuses to accept before the paper arrived, and says why', () => {
    expect(applyEvent(offline('materials_shipped'), 'accepted')).toEqual({
      ok: false,
      reason:
        'accepted is not allowed in status materials_shipped (an offline_proxy case is accepted after materials_received)',
    })
    const r = applyEvent(offline('dispatched'), 'rejected')
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason).toMatch(/rejected .* dispatched .*materials_received/)
  })

  it('ships materials only in offline_proxy', () => {
    const r = applyEvent(state('dispatched'), 'materials_shipped')
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason).toMatch(/only an offline_proxy case ships paper materials, this one is online_transfer/)
    expect(applyEvent(offline('dispatched'), 'materials_shipped').ok).toBe(true)
  })
})

describe('suspended and resumed', () => {
  it.each(['accepted', 'supplement_requested', 'in_review'] as const)('suspends and resumes in %s', (status) => {
    const s = applyEvent(state(status), 'suspended')
    expect(s).toEqual({ ok: true, state: state(status, { suspended: true }) })
    if (!s.ok) return
    const again = applyEvent(s.state, 'suspended')
    expect(again.ok).toBe(false)
    if (!again.ok) expect(again.reason).toMatch(/already suspended/)
    expect(applyEvent(s.state, 'resumed')).toEqual({ ok: true, state: state(status) })
  })

  it('refuses resumed when not suspended', () => {
    const r = applyEvent(state('in_review'), 'resumed')
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason).toBe('resumed is not allowed in status in_review (the case is not suspended)')
  })

  it('keeps the flag through other events and clears it on completion and withdrawal', () => {
    const s = state('accepted', { suspended: true })
    expect(applyEvent(s, 'supplement_requested')).toEqual({
      ok: true,
      state: state('supplement_requested', { suspended: true }),
    })
    expect(applyEvent(s, 'in_review')).toEqual({ ok: true, state: state('in_review', { suspended: true }) })
    expect(applyEvent(state('in_review', { suspended: true }), 'completed')).toEqual({
      ok: true,
      state: state('completed'),
    })
    expect(applyEvent(s, 'withdrawn')).toEqual({ ok: true, state: state('withdrawn') })
  })
})

describe('rated', () => {
  it('is allowed once', () => {
    const r = applyEvent(state('result_delivered'), 'rated')
    expect(r).toEqual({ ok: true, state: state('result_delivered', { rated: true }) })
    if (!r.ok) return
    const again = applyEvent(r.state, 'rated')
    expect(again.ok).toBe(false)
    if (!again.ok) expect(again.reason).toMatch(/already rated/)
    const closed = applyEvent(r.state, 'closed')
    expect(closed).toEqual({ ok: true, state: state('closed', { rated: true }) })
    if (closed.ok) expect(applyEvent(closed.state, 'rated').ok).toBe(false)
  })
})

describe('容缺受理: supplement_provided for materials left outstanding', () => {
  it.each(['accepted', 'in_review'] as const)(
    'supplies outstanding materials in %s without changing the status',
    (status) => {
      const r = applyEvent({ ...state(status), outstanding: true }, 'supplement_provided')
      expect(r).toEqual({ ok: true, state: { ...state(status), outstanding: true } })
    },
  )

  it('is refused in accepted when nothing is outstanding', () => {
    const r = applyEvent(state('accepted'), 'supplement_provided')
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason).toContain('no supplement is requested or outstanding')
  })

  it('still answers a supplement request back to accepted', () => {
    const r = applyEvent({ ...state('supplement_requested'), outstanding: true }, 'supplement_provided')
    expect(r.ok && r.state.status).toBe('accepted')
  })

  it.each([
    [{ outstanding: ['site-plan'] }, 'supplyBy'],
    [{ supplyBy: '2026-10-10' }, 'supplyBy'],
    [{ outstanding: ['a', 'a'], supplyBy: '2026-10-10' }, 'outstanding'],
    [{ outstanding: [], supplyBy: '2026-10-10' }, 'outstanding'],
  ])('refuses accepted data %j', (data, path) => {
    const r = PartyEvent.safeParse({ type: 'accepted', data })
    expect(r.success).toBe(false)
    expect(r.error?.issues.map((i) => i.path.at(-1))).toContain(path)
  })
})

describe('withdrawn', () => {
  it.each(['completed', 'result_delivered', 'closed', 'rejected', 'withdrawn'] as const)(
    'is refused in %s',
    (status) => {
      const r = applyEvent(state(status), 'withdrawn')
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.reason).toMatch(new RegExp(`^withdrawn is not allowed in status ${status} \\(.+\\)$`))
    },
  )
})

describe('submitted', () => {
  it('never applies: it is written at creation', () => {
    for (const status of CaseStatus.options) expect(applyEvent(state(status), 'submitted').ok).toBe(false)
  })
})

describe('materials_overdue (容缺)', () => {
  it('is recorded only while materials are outstanding, in a status that is not final', () => {
    for (const status of CaseStatus.options) {
      const open = !finalStatuses.has(status)
      expect(applyEvent(state(status, { outstanding: true }), 'materials_overdue').ok, status).toBe(open)
      expect(applyEvent(state(status, { outstanding: false }), 'materials_overdue').ok, status).toBe(false)
    }
    expect(applyEvent(state('accepted'), 'materials_overdue')).toEqual({
      ok: false,
      reason: 'materials_overdue is not allowed in status accepted (no materials are outstanding)',
    })
  })
})

describe('allowedEvents', () => {
  it.each<[LifecycleState, string[]]>([
    [state('submitted'), ['dispatched', 'delivery_failed', 'withdrawn', 'deadline_warning', 'overdue']],
    [state('delivery_failed'), ['redriven', 'withdrawn']],
    [state('dispatched'), ['accepted', 'rejected', 'withdrawn', 'deadline_warning', 'overdue']],
    [state('dispatched', { mode: 'offline_proxy' }), ['materials_shipped', 'withdrawn', 'deadline_warning', 'overdue']],
    [
      state('accepted'),
      [
        'supplement_requested',
        'in_review',
        'suspended',
        'inspection_scheduled',
        'completed',
        'recognition_failed',
        'withdrawn',
        'deadline_warning',
        'overdue',
      ],
    ],
    [
      state('in_review', { suspended: true }),
      [
        'resumed',
        'inspection_completed',
        'completed',
        'recognition_failed',
        'withdrawn',
        'deadline_warning',
        'overdue',
      ],
    ],
    [state('completed'), ['recognized', 'recognition_failed', 'result_delivered']],
    [state('result_delivered'), ['recognized', 'recognition_failed', 'rated', 'closed']],
    [state('closed'), ['rated']],
    [state('closed', { rated: true }), []],
    [state('rejected'), ['closed']],
    [state('withdrawn'), []],
  ])('%o allows %o', (s, expected) => {
    expect([...allowedEvents(s)].sort()).toEqual([...expected].sort())
  })
})

describe('PartyEvent', () => {
  it('covers exactly the events the parties post', () => {
    const partyTypes = EventType.options.filter((t) => eventSide[t] !== 'gateway')
    const accepted = partyTypes.filter((type) => {
      const r = PartyEvent.safeParse({ type, data: {} })
      return r.success || r.error.issues.every((i) => i.path[0] === 'data')
    })
    expect(accepted).toEqual(partyTypes)
    for (const type of EventType.options.filter((t) => eventSide[t] === 'gateway')) {
      expect(PartyEvent.safeParse({ type, data: {} }).success, type).toBe(false)
    }
  })

  it.each<[string, unknown]>([
    ['accepted, no data', { type: 'accepted' }],
    [
      'accepted with 容缺',
      {
        type: 'accepted',
        data: { outstanding: ['site-plan'], supplyBy: '2026-03-31', note: '容缺受理' },
      },
    ],
    ['rejected', { type: 'rejected', data: { reason: '不属于本机关职责范围' } }],
    [
      'supplement_requested',
      {
        type: 'supplement_requested',
        data: { materials: [{ code: 'id-card', name: '身份证复印件', note: '不清晰' }], dueDate: '2026-04-01' },
      },
    ],
    ['materials_received', { type: 'materials_received', data: { note: '已签收' } }],
    ['in_review', { type: 'in_review' }],
    ['suspended', { type: 'suspended', data: { reason: '联合踏勘' } }],
    ['resumed', { type: 'resumed', data: {} }],
    ['materials_shipped', { type: 'materials_shipped', data: { carrier: 'EMS', trackingNumber: '1234567890123' } }],
    [
      'supplement_provided',
      {
        type: 'supplement_provided',
        data: {
          materials: [
            { code: 'id-card', sha256: 'a'.repeat(64) },
            {
              code: 'licence',
              certificateId: '1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F',
            },
          ],
        },
      },
    ],
    ['withdrawn', { type: 'withdrawn', data: { reason: '申请人撤回' } }],
    ['result_delivered electronic', { type: 'result_delivered', data: { method: 'electronic' } }],
    [
      'result_delivered by mail',
      { type: 'result_delivered', data: { method: 'mail', carrier: 'EMS', trackingNumber: 'EA123456789CN' } },
    ],
    ['rated', { type: 'rated', data: { score: 5, comment: '很满意' } }],
    ['closed', { type: 'closed' }],
  ])('accepts %s', (_, body) => {
    const r = PartyEvent.safeParse(body)
    expect(r.success, JSON.stringify(r.error?.issues)).toBe(true)
  })

  it('defaults data to {} where nothing is required', () => {
    expect(PartyEvent.parse({ type: 'closed' })).toEqual({ type: 'closed', data: {} })
    expect(PartyEvent.parse({ type: 'accepted' })).toEqual({ type: 'accepted', data: {} })
  })

  it.each<[string, unknown, (string | number)[]]>([
    ['rejected without data', { type: 'rejected' }, ['data']],
    ['rejected with an empty reason', { type: 'rejected', data: { reason: '' } }, ['data', 'reason']],
    ['suspended without reason', { type: 'suspended', data: {} }, ['data', 'reason']],
    [
      'supplement_requested without materials',
      { type: 'supplement_requested', data: { materials: [], dueDate: '2026-04-01' } },
      ['data', 'materials'],
    ],
    [
      'supplement_requested with a bad date',
      { type: 'supplement_requested', data: { materials: [{ code: 'x' }], dueDate: '2026-02-30' } },
      ['data', 'dueDate'],
    ],
    [
      'materials_shipped with a bad tracking number',
      { type: 'materials_shipped', data: { carrier: 'EMS', trackingNumber: 'a b' } },
      ['data', 'trackingNumber'],
    ],
    ['an extra field in data', { type: 'closed', data: { note: 'x', extra: 1 } }, ['data']],
    ['an extra field beside data', { type: 'closed', data: {}, at: '2026-01-01' }, []],
    [
      'an extra field in a material',
      { type: 'supplement_provided', data: { materials: [{ code: 'x', size: 3 }] } },
      ['data', 'materials', 0],
    ],
    [
      'a bad sha256',
      { type: 'supplement_provided', data: { materials: [{ code: 'x', sha256: 'A'.repeat(64) }] } },
      ['data', 'materials', 0, 'sha256'],
    ],
    [
      'a certificate id with a wrong check character',
      {
        type: 'supplement_provided',
        data: {
          materials: [
            { code: 'x', certificateId: '1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.G' },
          ],
        },
      },
      ['data', 'materials', 0, 'certificateId'],
    ],
    [
      'mail without a tracking number',
      { type: 'result_delivered', data: { method: 'mail', carrier: 'EMS' } },
      ['data', 'trackingNumber'],
    ],
    [
      'mail without a carrier',
      { type: 'result_delivered', data: { method: 'mail', trackingNumber: 'EA123456789CN' } },
      ['data', 'carrier'],
    ],
    ['score 6', { type: 'rated', data: { score: 6 } }, ['data', 'score']],
    ['score 0', { type: 'rated', data: { score: 0 } }, ['data', 'score']],
    ['score 4.5', { type: 'rated', data: { score: 4.5 } }, ['data', 'score']],
    ['a note over 500 characters', { type: 'in_review', data: { note: 'x'.repeat(501) } }, ['data', 'note']],
    ['a gateway event', { type: 'completed', data: {} }, ['type']],
  ])('refuses %s', (_, body, path) => {
    const r = PartyEvent.safeParse(body)
    expect(r.success).toBe(false)
    expect(
      r.error?.issues.map((i) => i.path),
      JSON.stringify(r.error?.issues),
    ).toContainEqual(path)
  })

  it('carries its OpenAPI id', () => {
    expect(PartyEvent.meta()).toMatchObject({ id: 'PartyEvent' })
  })
})
