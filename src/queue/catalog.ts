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
      // The agreement's retry policy decides when to give up (services/dispatch/deliver.ts) and how long to
      // wait (the worker's custom backoff reads the delay it computed); BullMQ's own limit is a backstop.
      attempts: 1000,
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
} as const satisfies Record<string, { schema: z.ZodType<Record<string, unknown>>; opts: JobsOptions }>

export type JobName = keyof typeof jobs
export type JobPayload<N extends JobName> = z.infer<(typeof jobs)[N]['schema']>

/** The BullMQ queue of a job: one queue per job name; `QUEUE_PREFIX` namespaces the Redis keys. */
export function queueNameOf(name: JobName): string {
  return name
}

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(jobs, name)
}
