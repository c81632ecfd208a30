/**
 * The periodic work of a gateway, each one run of it: the bodies the background phase's schedules run
 * (runtime/background.ts), and what tests and `tongban` call directly. Each logs what it did; none
 * schedules itself.
 */
import type { StoredCheckpoint } from '../ports/checkpoint-store.js'
import type { AdapterKind } from '../ports/region-adapter.js'
import { sweepTimers } from '../services/cases/deadlines.js'
import { MAX_LEAVES, makeCheckpoint } from '../services/checkpoints/make.js'
import { peerWitnesses, sendToWitnesses } from '../services/checkpoints/send.js'
import { pollBindings } from '../services/dispatch/poll.js'
import { type EventSweepState, sweepUndelivered, sweepUnforwardedEvents } from '../services/dispatch/sweep.js'
import { ensureCasePartitions } from '../services/partitions.js'
import { refreshReportMonths } from '../services/reports/months.js'
import { pruneStorage } from '../services/retention.js'
import type { Infrastructure } from './infrastructure.js'
import type { Services } from './services.js'
import type { Stores } from './stores.js'

export type Tasks = ReturnType<typeof createTasks>

export function createTasks(infra: Infrastructure, stores: Stores, services: Services) {
  const { config, logger, clock } = infra
  const { producer, relay } = services
  const requeue = async (name: 'case.dispatch' | 'case.event', jobId: string, payload: Record<string, unknown>) => {
    await stores.cases.transaction((tx) => tx.addOutbox(name, jobId, payload))
    relay.poke()
  }
  // Where the event sweep left off (only events after it are looked at again).
  const eventSweep: EventSweepState = { after: null }
  const witnesses = peerWitnesses(stores.bindings, services.resolver)

  return {
    /**
     * Dispatch jobs and event jobs that vanished from Redis are queued again, and dispatch jobs in
     * BullMQ's failed set are dead-lettered or queued again (services/dispatch/sweep.ts).
     */
    async sweep(): Promise<{ dispatches: number; events: number }> {
      const dispatches = await sweepUndelivered(
        {
          cases: stores.cases,
          clock,
          jobState: (jobId) => producer.jobState('case.dispatch', jobId),
          removeJob: (jobId) => producer.removeJob('case.dispatch', jobId),
          requeue: (caseId, jobId) => requeue('case.dispatch', jobId, { caseId }),
          dispatch: services.dispatch,
        },
        config.redis.sweepStaleMs,
      )
      if (dispatches.requeued.length)
        logger.warn({ cases: dispatches.requeued.length }, 'dispatch jobs had vanished or failed: queued again')
      if (dispatches.deadLettered.length)
        logger.warn(
          { cases: dispatches.deadLettered.length },
          'dispatch jobs had failed for good: dead-lettered (delivery_failed)',
        )
      const events = await sweepUnforwardedEvents(
        {
          cases: stores.cases,
          forwards: stores.forwards,
          adapters: services.resolver,
          clock,
          jobExists: (jobId) => producer.jobExists('case.event', jobId),
          requeue: (caseId, seq, jobId) => requeue('case.event', jobId, { caseId, seq }),
        },
        config.redis.sweepStaleMs,
        eventSweep,
      )
      if (events.length) logger.warn({ events: events.length }, 'event jobs had vanished from Redis: queued again')
      return { dispatches: dispatches.requeued.length + dispatches.deadLettered.length, events: events.length }
    },

    /** Fires from PostgreSQL the deadline timers Redis lost, and the 容缺 supply dates passed; returns the events recorded. */
    async sweepTimers(): Promise<number> {
      const fired = await sweepTimers({
        caller: null,
        deps: { cases: services.cases, timers: stores.evaluation, outstanding: stores.outstanding },
      })
      if (fired > 0) logger.info({ fired }, 'deadline sweep: fired timers that had not fired from the queue')
      return fired
    },

    /**
     * Signs a checkpoint when something changed (several when more changed than one holds; `made` is the
     * newest), then sends every checkpoint a peer witness has not countersigned yet.
     */
    async checkpoint(): Promise<{ made: StoredCheckpoint | null; countersigned: Record<string, number> }> {
      const signing = { gatewayId: config.gateway.id, clock, store: stores.checkpoints, signer: infra.keys }
      // Several when more changed than one checkpoint holds (MAX_LEAVES), at most 10 per run.
      let made: StoredCheckpoint | null = null
      for (let i = 0; i < 10; i++) {
        const next = await makeCheckpoint({ caller: null, deps: signing })
        if (!next) break
        made = next
        logger.info({ seq: next.seq, size: next.size }, 'checkpoint signed')
        if (next.size < MAX_LEAVES) break
      }
      const countersigned = await sendToWitnesses({
        caller: null,
        deps: {
          gatewayId: config.gateway.id,
          clock,
          logger,
          store: stores.checkpoints,
          witnesses,
          witnessKeys: (id) => services.jwksOf(id),
        },
      })
      return { made, countersigned }
    },

    /**
     * Asks the systems of one adapter kind that cannot call back for the events of their open cases; each
     * binding at most once per its `pollIntervalSeconds` across the fleet (`due` claims its turn).
     */
    poll(kind: AdapterKind, due: (bindingRegion: string, intervalMs: number) => Promise<boolean>, signal: AbortSignal) {
      return pollBindings(
        { cases: services.cases, adapters: services.resolver, bindings: stores.bindings, due },
        kind,
        signal,
      )
    },

    /** Deletes unused files and expired idempotency answers (services/retention.ts). */
    prune() {
      return pruneStorage({
        caller: null,
        deps: {
          files: stores.files,
          cases: stores.cases,
          clock,
          logger,
          fileUnusedHours: config.files.unusedRetentionHours,
        },
      })
    },

    /** Creates the monthly case partitions of this month and `CASE_PARTITIONS_AHEAD` more (services/partitions.ts). */
    async ensurePartitions() {
      const done = await ensureCasePartitions(
        { caller: null, deps: { partitions: stores.partitions, now: clock.now() } },
        { ahead: config.partitions.ahead },
      )
      if (done.created.length) logger.info({ months: done.created }, 'case partitions created')
      if (done.skipped.length)
        logger.warn(
          { months: done.skipped },
          'case partitions not created: cases of these months sit in the DEFAULT partition (docs/scale.md)',
        )
      return done
    },

    /**
     * Computes the performance report's figures of the closed months that have none or whose cases changed since,
     * twelve at most (services/reports/months.ts).
     */
    async reportMonths() {
      const done = await refreshReportMonths({ caller: null, deps: { evaluation: stores.evaluation } }, { limit: 12 })
      if (done.computed.length) logger.info({ months: done.computed, pending: done.pending }, 'report months computed')
      return done
    },

    /** The alert figures now; logs each alert that appeared or changed (services/metrics/gateway.ts). */
    checkAlerts() {
      return services.metrics.checkAlerts()
    },
  }
}
