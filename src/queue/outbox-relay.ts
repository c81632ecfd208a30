import type { Logger } from '../logger.js'
import type { OutboxRow, OutboxStore } from '../ports/case-store.js'
import { delayOf, isJobName, type JobName, jobs } from './catalog.js'
import type { EnqueueItem, QueueProducer } from './producer.js'

export interface OutboxRelayOptions {
  outbox: OutboxStore
  producer: Pick<QueueProducer, 'enqueueBulk'>
  logger: Logger
  /** Polling period; default 500 ms. `poke()` drains sooner. */
  intervalMs?: number | undefined
  /** Rows per drain (one transaction, one `addBulk` per job name); default 200. */
  batch?: number | undefined
  /**
   * A poke drains after this delay, so that the rows of commits arriving meanwhile go in the same
   * drain (under load, one transaction and one `addBulk` for many cases instead of one each); default 10 ms.
   */
  pokeDelayMs?: number | undefined
  /** The gateway's clock in epoch ms, for delayed jobs (catalog `delayMs`); default `Date.now`. */
  now?: (() => number) | undefined
  /**
   * True while an outage reporter already tells of the failure (Redis or PostgreSQL away): failed drains
   * are then logged at debug. Otherwise the first failure of a run of failures is a warning, the
   * following ones debug, until a drain succeeds again.
   */
  quiet?: (() => boolean) | undefined
}

/**
 * Moves committed outbox rows to their BullMQ queues: row topic = job name, key = jobId, payload =
 * job data. Rows are deleted only after the queue accepted them, so a crash or a Redis outage loses
 * nothing (the rows are relayed after restart); a row relayed twice is harmless because BullMQ
 * ignores an existing jobId. Several relays (gateway processes) may run at once: `drain` claims rows
 * with SKIP LOCKED.
 *
 * A row that can never be published (unknown topic, payload failing the catalog schema) is logged
 * at error level and dropped, so that it cannot block the rows behind it.
 *
 * @example
 * const relay = new OutboxRelay({ outbox: new PgOutboxStore(database), producer, logger })
 * relay.start()
 * // after a transaction that added outbox rows commits:
 * relay.poke()
 * // on shutdown, before closing the producer and the database
 * await relay.stop()
 */
export class OutboxRelay {
  private readonly outbox: OutboxStore
  private readonly producer: Pick<QueueProducer, 'enqueueBulk'>
  private readonly logger: Logger
  private readonly intervalMs: number
  private readonly batch: number
  private readonly pokeDelayMs: number
  private readonly now: () => number
  private readonly quiet: () => boolean
  private failing = false
  private pokeTimer: NodeJS.Timeout | undefined
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private again = false
  private stopped = true

  constructor(opts: OutboxRelayOptions) {
    this.outbox = opts.outbox
    this.producer = opts.producer
    this.logger = opts.logger
    this.intervalMs = opts.intervalMs ?? 500
    this.batch = opts.batch ?? 200
    this.pokeDelayMs = opts.pokeDelayMs ?? 10
    this.now = opts.now ?? Date.now
    this.quiet = opts.quiet ?? (() => false)
  }

  /** Drains now and then every `intervalMs`; idempotent. */
  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.timer = setInterval(() => this.kick(), this.intervalMs)
    this.timer.unref()
    this.kick()
  }

  /** Asks for a drain now (call it after a commit that added rows). Pokes during a drain coalesce into one more drain. */
  poke(): void {
    if (this.pokeTimer !== undefined || this.stopped) return
    this.pokeTimer = setTimeout(() => {
      this.pokeTimer = undefined
      this.kick()
    }, this.pokeDelayMs)
  }

  /** Stops polling (after one last drain if a poke was waiting) and waits for the drain in progress; rows not yet relayed stay in the outbox. */
  async stop(): Promise<void> {
    // A poke still waiting: drain now, so that what was just committed goes out before shutdown.
    const pending = this.pokeTimer !== undefined
    clearTimeout(this.pokeTimer)
    this.pokeTimer = undefined
    if (pending && !this.stopped) this.kick()
    this.stopped = true
    clearInterval(this.timer)
    this.timer = undefined
    await this.running
  }

  /** One drain of up to `batch` rows; returns how many were published. Throws when publishing failed. */
  relayOnce(): Promise<number> {
    return this.outbox.drain(this.batch, (rows) => this.publish(rows))
  }

  private kick(): void {
    if (this.stopped) return
    if (this.running !== undefined) {
      this.again = true
      return
    }
    this.running = this.pump().finally(() => {
      this.running = undefined
      // A poke that came after the pump's last look: drain once more.
      if (this.again) this.kick()
    })
  }

  /** Drains until the outbox is empty (no full batch and no poke meanwhile) or a drain fails. */
  private async pump(): Promise<void> {
    for (;;) {
      this.again = false
      let published: number
      try {
        published = await this.relayOnce()
      } catch (error) {
        const level = this.failing || this.quiet() ? 'debug' : 'warn'
        this.failing = true
        this.logger[level]({ err: error }, 'outbox relay: drain failed; the rows stay and are retried')
        return
      }
      if (this.failing) {
        this.failing = false
        this.logger.info('outbox relay: draining again')
      }
      if (published > 0) this.logger.debug({ published }, 'outbox relay: published')
      if (this.stopped || (published < this.batch && !this.again)) return
    }
  }

  private async publish(rows: OutboxRow[]): Promise<void> {
    const byJob = new Map<JobName, EnqueueItem<JobName>[]>()
    for (const row of rows) {
      if (!isJobName(row.topic)) {
        this.drop(row, 'unknown topic')
        continue
      }
      const parsed = jobs[row.topic].schema.safeParse(row.payload)
      if (!parsed.success) {
        this.drop(row, 'payload fails the job schema')
        continue
      }
      const items = byJob.get(row.topic) ?? []
      items.push({ payload: parsed.data, jobId: row.key, delayMs: delayOf(row.topic, parsed.data, this.now()) })
      byJob.set(row.topic, items)
    }
    for (const [name, items] of byJob) await this.producer.enqueueBulk(name, items)
  }

  private drop(row: OutboxRow, reason: string): void {
    // Only the payload's keys: a payload that breaks the catalog may also break its no-identity-numbers rule.
    this.logger.error(
      { outboxId: row.id, topic: row.topic, key: row.key, payloadKeys: Object.keys(row.payload), reason },
      'outbox relay: dropping a row that can never be published',
    )
  }
}
