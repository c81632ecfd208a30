/**
 * The peer adapter's follow-up idempotency rule, checked against the lifecycle itself: for each party event and
 * each status, "already applied" must hold exactly when the lifecycle proves it (see adapters/peer/follow-up.ts).
 */
import { describe, expect, it } from 'vitest'
import { alreadyApplied } from '../../adapters/peer/follow-up.js'
import { Mode } from '../../config/schema.js'
import { applyEvent, CaseStatus, EventType, PartyEvent } from '../../src/domain/lifecycle.js'

type Status = CaseStatus
type Edge = { from: Status; to: Status; type: EventType }

function edges(mode: Mode): Edge[] {
  const out: Edge[] = []
  for (const from of CaseStatus.options) {
    for (const type of EventType.options) {
      const r = applyEvent({ status: from, mode, suspended: false, rated: false }, type)
      if (r.ok && r.state.status !== from) out.push({ from, to: r.state.status, type })
    }
  }
  return out
}

function reach(start: Iterable<Status>, graph: Edge[], skip?: EventType): Set<Status> {
  const seen = new Set<Status>(start)
  const queue = [...seen]
  while (queue.length > 0) {
    const s = queue.shift()!
    for (const e of graph) {
      if (e.from === s && e.type !== skip && !seen.has(e.to)) {
        seen.add(e.to)
        queue.push(e.to)
      }
    }
  }
  return seen
}

/**
 * The statuses that prove `type` applied: in every mode where the event can be posted and the status occurs,
 * for an event that changes the status, the status is reachable from its target but not from the statuses
 * allowing it without passing through it; for a flag event, the status allows it (so only the flag refused it).
 */
function provenStatuses(type: EventType): Set<Status> {
  const verdict = new Map<Status, boolean>()
  for (const mode of Mode.options) {
    const graph = edges(mode)
    // Only statuses a case of this mode can be in (materials_shipped is none of a full_online case's).
    const reachable = reach(['submitted'], graph)
    const flags = { suspended: type === 'resumed' || type === 'inspection_completed', rated: false }
    const allowedIn = CaseStatus.options.filter(
      (status) => reachable.has(status) && applyEvent({ status, mode, ...flags }, type).ok,
    )
    if (allowedIn.length === 0) continue
    const targets = new Set(graph.filter((e) => e.type === type).map((e) => e.to))
    let proven: Set<Status>
    if (targets.size === 0) {
      proven = new Set(allowedIn)
    } else {
      const without = reach(allowedIn, graph, type)
      proven = new Set([...reach(targets, graph)].filter((s) => !without.has(s)))
    }
    for (const s of reachable) verdict.set(s, (verdict.get(s) ?? true) && proven.has(s))
  }
  return new Set([...verdict].filter(([, v]) => v).map(([s]) => s))
}

describe('peer follow-up rule: 409 invalid_transition counts as delivered', () => {
  const partyEvents = PartyEvent.options.map((o) => o.shape.type.value)

  it.each(partyEvents)('%s: exactly in the statuses the lifecycle proves it applied', (type) => {
    const expected = provenStatuses(type)
    const got = CaseStatus.options.filter((s) => alreadyApplied(type, s))
    expect(new Set(got)).toEqual(expected)
  })

  it('never for an unknown status', () => {
    expect(alreadyApplied('accepted', 'unknown')).toBe(false)
  })

  it('examples', () => {
    expect(alreadyApplied('accepted', 'in_review')).toBe(true)
    expect(alreadyApplied('rejected', 'closed')).toBe(false)
    expect(alreadyApplied('materials_shipped', 'withdrawn')).toBe(false)
    expect(alreadyApplied('rated', 'closed')).toBe(true)
  })
})
