/**
 * Status polling for systems that cannot call back (an adapter kind that polls, whose adapter has
 * `fetchStatus`): for each binding of that kind, every `pollIntervalSeconds` (default 60), the open cases delivered to it are asked for new events, which are
 * recorded as the processing side's (actor `adapter:<kind>:<binding region>`), once each (the other
 * system's event id is kept in the event's data as `remoteId`). An event the case's status does not allow
 * is skipped and logged, never forced.
 */
import type { Binding } from '../../../config/schema.js'
import { bindingFor } from '../../domain/bindings.js'
import { eventSide } from '../../domain/lifecycle.js'
import { isAppError } from '../../errors.js'
import type { BindingStore } from '../../ports/binding-store.js'
import type { AdapterKind, AdapterResolver } from '../../ports/region-adapter.js'
import { recordGatewayEvent } from '../cases/gateway-events.js'
import type { CaseDeps } from '../context.js'

export interface PollDeps {
  cases: CaseDeps
  adapters: AdapterResolver
  bindings: BindingStore
  /**
   * Whether a binding's turn has come, claiming it when it has: true at most once per `intervalMs` for a
   * binding, across every process of the gateway (queue/schedules.ts).
   */
  due(bindingRegion: string, intervalMs: number): Promise<boolean>
}

/** Polls every binding of `kind` whose turn has come; returns the events recorded. */
export async function pollBindings(deps: PollDeps, kind: AdapterKind, signal: AbortSignal): Promise<number> {
  const snap = await deps.cases.directory.snapshot()
  const all = (await deps.bindings.list()).map((s) => s.binding)
  let recorded = 0
  for (const binding of all) {
    const interval = Number((binding.settings as { pollIntervalSeconds?: number }).pollIntervalSeconds ?? 60) * 1000
    if (binding.adapter !== kind || !(await deps.due(binding.region, interval))) continue
    const regions = snap.directory.regions
      .map((r) => r.code)
      .filter((code) => bindingFor(code, all, snap.regions)?.region === binding.region)
    recorded += await pollBinding(deps, binding, regions, signal)
  }
  return recorded
}

async function pollBinding(deps: PollDeps, binding: Binding, regions: string[], signal: AbortSignal): Promise<number> {
  const target = await deps.adapters.resolve(regions[0] ?? binding.region)
  if (!target?.adapter.fetchStatus) return 0
  const actor = `adapter:${binding.adapter}:${binding.region}`
  let recorded = 0
  for (const open of await deps.cases.cases.openDelivered(regions, 500)) {
    let remote: Awaited<ReturnType<NonNullable<typeof target.adapter.fetchStatus>>>
    try {
      remote = await target.adapter.fetchStatus(open.remoteRef, { idempotencyKey: `${open.id}-poll`, signal })
    } catch (e) {
      deps.cases.logger.warn(
        { caseId: open.id, err: { message: isAppError(e) ? e.message : String(e) } },
        'status poll failed',
      )
      continue
    }
    const seen = new Set(
      (await deps.cases.cases.events(open.id))
        .map((e) => e.data.remoteId)
        .filter((v): v is string => typeof v === 'string'),
    )
    for (const event of remote) {
      if (seen.has(event.remoteId) || eventSide[event.type] !== 'processing') continue
      try {
        await recordGatewayEvent(
          deps.cases,
          open.id,
          event.type,
          { ...event.data, remoteId: event.remoteId, remoteAt: event.at },
          {},
          actor,
        )
        seen.add(event.remoteId)
        recorded++
      } catch (e) {
        deps.cases.logger.warn(
          { caseId: open.id, type: event.type, err: { message: isAppError(e) ? e.message : String(e) } },
          'polled event not recorded',
        )
      }
    }
  }
  return recorded
}
