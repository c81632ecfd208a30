/**
 * Every background job of the gateway: its payload schema and BullMQ options. Producers parse the
 * payload before `add`, workers parse it again. Payloads carry ids only — never identity numbers or
 * secrets: a worker loads what it needs from the store.
 */
import type { JobsOptions } from 'bullmq'
import { z } from 'zod'

export const jobs = {
  /** Hand a submitted case to its processing region's system (retried with backoff, then `delivery_failed`). */
  'case.dispatch': {
    schema: z.object({ caseId: z.string().min(1) }).strict(),
    opts: {
      // The agreement's retry policy decides when to give up (services/dispatch/deliver.ts), thrown errors
      // included, and how long to wait (the worker's custom backoff reads the delay it computed). BullMQ's own
      // limit is a backstop above any policy (at most 100 attempts): the extra tries are for writing the dead
      // letter while the database is away; a job failed past it is dead-lettered by the sweeper.
      attempts: 120,
      backoff: { type: 'custom' },
      // Kept for 7 days so that a second add with the same jobId (an outbox row relayed twice) is ignored.
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: false,
    },
  },
  /**
   * Tell the other side of a case about one of its events (status, supplement, shipment notice …),
   * in order per case. Job id `<caseId>-<seq>`.
   */
  'case.event': {
    schema: z.object({ caseId: z.string().min(1), seq: z.number().int().positive() }).strict(),
    opts: {
      // About two days of tries (the custom backoff doubles from 1 s up to 10 min), then a dead letter.
      attempts: 300,
      backoff: { type: 'custom' },
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: false,
    },
  },
  /**
   * A deadline timer of a case: at `at` (the clock's planned instant, kept in PostgreSQL too) record
   * `deadline_warning` or `overdue`; `materials`: the end of a 容缺 supply date, `materials_overdue`. Job id `<caseId>-<kind>-<epoch ms>`; a moved timer is a new job and
   * the old one finds the clock changed and does nothing.
   */
  'case.deadline': {
    schema: z
      .object({ caseId: z.string().min(1), kind: z.enum(['warning', 'overdue', 'materials']), at: z.iso.datetime() })
      .strict(),
    opts: {
      attempts: 50,
      backoff: { type: 'custom' },
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 30 * 24 * 3600 },
    },
    /** Delayed until `at` by the gateway's clock. */
    delayMs: (payload: Record<string, unknown>, nowMs: number) => Math.max(0, Date.parse(String(payload.at)) - nowMs),
  },
} as const satisfies Record<
  string,
  {
    schema: z.ZodType<Record<string, unknown>>
    opts: JobsOptions
    /** A job to run later: its delay when it is queued at `nowMs`. */
    delayMs?: (payload: Record<string, unknown>, nowMs: number) => number
  }
>

/** The delay of a job queued now (0 for jobs that run at once). */
export function delayOf(name: JobName, payload: Record<string, unknown>, nowMs: number): number {
  const job = jobs[name]
  return 'delayMs' in job ? job.delayMs(payload, nowMs) : 0
}

export type JobName = keyof typeof jobs
export type JobPayload<N extends JobName> = z.infer<(typeof jobs)[N]['schema']>

/** The BullMQ queue of a job: one queue per job name; `QUEUE_PREFIX` namespaces the Redis keys. */
export function queueNameOf(name: JobName): string {
  return name
}

/**
 * The queue of the gateway's schedules (queue/schedules.ts): sweeps, polls, alert checks, retention and
 * checkpoints, each a BullMQ job scheduler with a fixed id, so one run per interval across the fleet.
 */
export const SCHEDULE_QUEUE = 'gateway.schedule'

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(jobs, name)
}
