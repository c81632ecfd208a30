/**
 * A bundle's hand-over, closing or withdrawal, posted once on its parent, reaches each child's processing side as
 * that side accepts events: without the `parent` this gateway notes on each child's copy of the event (a peer
 * gateway's strict event schema refused it with 400, and the event was dead-lettered: 襄阳 never heard that the
 * licence was handed over, or that the bundle was withdrawn).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PartyEvent } from '../../src/domain/lifecycle.js'
import type { AdapterResolver, RegionAdapter } from '../../src/ports/region-adapter.js'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { forwardEvent } from '../../src/services/dispatch/forward.js'
import { PgEventForwardStore } from '../../src/store/event-forward-store.js'
import { elderlyCareHome } from '../fixtures/one-thing.js'
import { createTestApp, type TestApp } from '../helpers/app.js'

let t: TestApp
let window: Awaited<ReturnType<TestApp['operator']>>

beforeAll(async () => {
  t = await createTestApp()
  window = await t.operator('420303', 'ZW-ZH-01', '王窗口')
}, 60_000)

afterAll(async () => {
  await t?.close()
})

describe('forwarding a bundle-wide origin event to a child’s peer gateway', () => {
  it('withdrawn on the parent: the child’s event goes to 襄阳 without the parent id, as a valid event body', async () => {
    const res = await window.call(
      'POST',
      '/v1/cases',
      elderlyCareHome({ agent: undefined, processingRegions: { 'food-business-licence': '420600' } }),
      { 'idempotency-key': 'fwd-bundle-1' },
    )
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const food = (res.body.case.children as { id: string; item: string }[]).find(
      (c) => c.item === 'food-business-licence',
    )?.id as string
    await recordGatewayEvent(
      t.runtime.deps.cases,
      food,
      'dispatched',
      { adapter: 'peer' },
      { remoteRef: 'XY-REMOTE-1' },
    )
    const withdrawn = await window.call('POST', `/v1/cases/${res.body.case.id}/events`, {
      type: 'withdrawn',
      data: { reason: '申请人撤回' },
    })
    expect(withdrawn.status, JSON.stringify(withdrawn.body)).toBe(201)
    const event = (await t.runtime.deps.cases.cases.events(food)).find((e) => e.type === 'withdrawn')
    // This gateway's own record names the parent the withdrawal came from.
    expect(event?.data).toMatchObject({ reason: '申请人撤回', parent: res.body.case.id })

    const sent: { type: string; remoteRef: string; data: Record<string, unknown> }[] = []
    const adapters = {
      resolve: async () => ({
        kind: 'peer',
        bindingRegion: '420600',
        circuit: { failureThreshold: 5, openSeconds: 60 },
        adapter: {
          kind: 'peer',
          deliverFollowUp: async (f: { type: string; remoteRef: string; data: Record<string, unknown> }) => {
            sent.push(f)
          },
        } as unknown as RegionAdapter,
      }),
    } as unknown as AdapterResolver
    const outcome = await forwardEvent(
      {
        cases: t.runtime.deps.cases,
        adapters,
        results: t.runtime.deps.results.results,
        forwards: new PgEventForwardStore(t.runtime.database),
      },
      food,
      event?.seq ?? 0,
      new AbortController().signal,
    )
    expect(outcome).toMatchObject({ kind: 'forwarded', direction: 'to_processing' })
    expect(sent).toHaveLength(1)
    expect(sent[0]).toMatchObject({ type: 'withdrawn', remoteRef: 'XY-REMOTE-1', data: { reason: '申请人撤回' } })
    expect(sent[0]?.data).not.toHaveProperty('parent')
    // What the peer receives is a body its strict event schema takes.
    const parsed = PartyEvent.safeParse({ type: sent[0]?.type, data: sent[0]?.data })
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true)
  })
})
