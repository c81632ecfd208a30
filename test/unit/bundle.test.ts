import { describe, expect, it } from 'vitest'
import { type ChildState, deriveParent, isParentCase } from '../../src/domain/bundle.js'
import type { CaseStatus } from '../../src/domain/lifecycle.js'

const child = (status: CaseStatus, outcome: ChildState['outcome'] = null, due = '2026-10-20'): ChildState => ({
  status,
  outcome,
  dueDate: due,
  dueAt: new Date(`${due}T16:00:00Z`),
})

describe('deriveParent', () => {
  it('shows the least advanced running child while any runs', () => {
    expect(deriveParent([child('in_review'), child('dispatched'), child('accepted')]).status).toBe('dispatched')
    expect(deriveParent([child('completed', 'approved'), child('in_review')]).status).toBe('in_review')
    expect(deriveParent([child('materials_received'), child('materials_shipped')]).status).toBe('materials_shipped')
  })

  it('puts what needs someone first: a failed delivery, then a supplement request', () => {
    expect(deriveParent([child('in_review'), child('supplement_requested'), child('delivery_failed')]).status).toBe(
      'delivery_failed',
    )
    expect(deriveParent([child('dispatched'), child('supplement_requested')]).status).toBe('supplement_requested')
  })

  it('completes only when the last child settles, with the outcome of all of them', () => {
    const running = deriveParent([child('completed', 'approved'), child('accepted')])
    expect(running).toMatchObject({ status: 'accepted', outcome: null })
    expect(deriveParent([child('completed', 'approved'), child('completed', 'approved')])).toMatchObject({
      status: 'completed',
      outcome: 'approved',
    })
    // One approved, one rejected: completed, and the children tell the outcome.
    expect(deriveParent([child('completed', 'approved'), child('rejected')])).toMatchObject({
      status: 'completed',
      outcome: null,
    })
    expect(deriveParent([child('completed', 'denied'), child('rejected')])).toMatchObject({
      status: 'completed',
      outcome: 'denied',
    })
    // A withdrawn child does not hold the others back, nor count.
    expect(deriveParent([child('completed', 'approved'), child('withdrawn')])).toMatchObject({
      status: 'completed',
      outcome: 'approved',
    })
  })

  it('is rejected when nothing was decided, withdrawn when everything was', () => {
    expect(deriveParent([child('rejected'), child('withdrawn')])).toMatchObject({ status: 'rejected' })
    expect(deriveParent([child('withdrawn'), child('withdrawn')]).status).toBe('withdrawn')
  })

  it('follows its children through issuance and closing', () => {
    expect(deriveParent([child('result_delivered', 'approved'), child('rejected')]).status).toBe('result_delivered')
    expect(deriveParent([child('result_delivered', 'approved'), child('completed', 'approved')]).status).toBe(
      'completed',
    )
    expect(deriveParent([child('closed', 'approved'), child('closed', 'approved')]).status).toBe('closed')
  })

  it('is due when its latest live child is due', () => {
    const d = deriveParent([
      child('accepted', null, '2026-10-20'),
      child('accepted', null, '2026-11-03'),
      child('withdrawn', null, '2026-12-31'),
    ])
    expect(d.dueDate).toBe('2026-11-03')
    expect(d.dueAt?.toISOString()).toBe('2026-11-03T16:00:00.000Z')
  })
})

describe('isParentCase', () => {
  it('is a top-level case without a processing region of its own', () => {
    expect(isParentCase({ parentId: null, processingRegion: null })).toBe(true)
    expect(isParentCase({ parentId: null, processingRegion: '420600' })).toBe(false)
    expect(isParentCase({ parentId: 'p', processingRegion: '420302' })).toBe(false)
  })
})
