/**
 * Outages of a dependency (Redis, PostgreSQL) logged the way a person wants to read them: one line when
 * it starts (what is unreachable, what still works, what to do), at most one reminder every
 * `reminderMs` while it lasts, and one line when it ends. Every connection to the dependency is a
 * source: the outage starts when the first source fails and ends when every failed source is back, so
 * the many connections of ioredis, BullMQ's queues and workers and the relay say it once between them.
 */
import type { Logger } from './logger.js'

export interface OutageOptions {
  logger: Logger
  /** Shown in every line, e.g. `Redis`. */
  dependency: string
  /** Where it is, without credentials (see `addressOf`), e.g. `127.0.0.1:6379`. */
  address: string
  /** What still works meanwhile, e.g. `intake keeps committing cases …`. */
  meanwhile: string
  /** What the operator can do, e.g. `start Redis or set REDIS_URL`. */
  advice: string
  /** Reminders while the outage lasts; default 60 s. */
  reminderMs?: number | undefined
  now?: (() => number) | undefined
}

/** One connection's view: it failed, it is back, it is closed for good. */
export interface OutageSource {
  down(error?: unknown): void
  up(): void
  /**
   * Starts a check that takes a while (a ping); call what it returns when the check succeeded. It counts
   * as `up` only if the source did not fail after the check began: a ping sent just before the server
   * went away, answered just after, does not end the outage that failure started.
   */
  probe(): () => void
  dispose(): void
}

/**
 * @example
 * const redisOutage = new Outage({ logger, dependency: 'Redis', address: addressOf(url), meanwhile, advice })
 * watchRedis(client, redisOutage.source('gateway'))
 * if (redisOutage.isDown()) logger.debug(...) // a failure the outage line already explains
 */
export class Outage {
  private readonly opts: OutageOptions
  private readonly now: () => number
  private readonly failed = new Set<string>()
  /** Per source, how many failures it reported (a probe compares the count at its start and end). */
  private readonly failures = new Map<string, number>()
  private since: number | undefined
  private reminder: NodeJS.Timeout | undefined
  private everUp = false
  private lastError = ''
  private closed = false

  constructor(opts: OutageOptions) {
    this.opts = opts
    this.now = opts.now ?? Date.now
  }

  /** Whether an outage is being reported now (callers log their own failures at debug meanwhile). */
  isDown(): boolean {
    return this.since !== undefined
  }

  /** A named source; the same name twice gives the same state. */
  source(name: string): OutageSource {
    return {
      down: (error) => this.down(name, error),
      up: () => this.up(name),
      probe: () => {
        const before = this.failures.get(name) ?? 0
        return () => {
          if ((this.failures.get(name) ?? 0) === before) this.up(name)
        }
      },
      dispose: () => {
        if (this.failed.delete(name) && this.failed.size === 0) this.end()
      },
    }
  }

  /** Stops reminding (on shutdown); nothing more is logged. */
  close(): void {
    this.closed = true
    clearInterval(this.reminder)
  }

  private down(name: string, error: unknown): void {
    if (error !== undefined) this.lastError = messageOf(error)
    this.failures.set(name, (this.failures.get(name) ?? 0) + 1)
    this.failed.add(name)
    if (this.since !== undefined || this.closed) return
    this.since = this.now()
    const { logger, dependency, address, meanwhile, advice } = this.opts
    const what = this.everUp ? 'lost' : 'unreachable at start'
    logger.warn(
      { dependency, address, error: this.lastError || undefined },
      `${dependency} ${what} (${address}${this.lastError ? `: ${this.lastError}` : ''}). Meanwhile ${meanwhile}. To do: ${advice}.`,
    )
    this.reminder = setInterval(() => {
      if (this.since === undefined || this.closed) return
      logger.warn(
        { dependency, address, downForSeconds: Math.round((this.now() - this.since) / 1000) },
        `${dependency} still unreachable (${address}) for ${durationOf(this.now() - this.since)}; ${advice}`,
      )
    }, this.opts.reminderMs ?? 60_000)
    this.reminder.unref()
  }

  private up(name: string): void {
    this.everUp = true
    this.failed.delete(name)
    if (this.failed.size === 0) this.end()
  }

  private end(): void {
    if (this.since === undefined) return
    clearInterval(this.reminder)
    const downMs = this.now() - this.since
    this.since = undefined
    this.lastError = ''
    if (this.closed) return
    const { logger, dependency, address } = this.opts
    logger.info(
      { dependency, address, downForSeconds: Math.round(downMs / 1000) },
      `${dependency} back (${address}) after ${durationOf(downMs)}`,
    )
  }
}

/** The events of an ioredis client (or anything shaped like one) feed a source. */
export function watchRedis(
  client: { on(event: string, listener: (...args: unknown[]) => void): unknown },
  source: OutageSource,
): void {
  client.on('error', (error) => source.down(error))
  client.on('reconnecting', () => source.down())
  client.on('ready', () => source.up())
  client.on('end', () => source.dispose())
}

/** `redis://user:secret@host:6379/0` → `host:6379` (never a password in a log line). */
export function addressOf(url: string): string {
  try {
    const u = new URL(url)
    if (u.protocol === 'postgres:' || u.protocol === 'postgresql:') {
      return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname}`
    }
    return `${u.hostname || '127.0.0.1'}:${u.port || '6379'}`
  } catch {
    return '(unparsable URL)'
  }
}

function messageOf(error: unknown): string {
  const e = error as { message?: unknown; code?: unknown }
  if (typeof e?.message === 'string' && e.message) return e.message
  return typeof e?.code === 'string' ? e.code : String(error)
}

function durationOf(ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`
}

/**
 * PostgreSQL has no connection events worth watching (the pool opens connections on demand): a ping
 * at once and then every `everyMs` (default 5 s) feeds the source, and so does the pool's error on an
 * idle connection. The first ping tells the source the database answered, so a failure soon after start
 * reads as lost, not as unreachable at start; a ping counts as up only if no failure came while it ran.
 * Returns a stop function.
 */
export function watchDatabase(ping: () => Promise<void>, source: OutageSource, everyMs = 5_000): () => void {
  let running = false
  const check = () => {
    if (running) return
    running = true
    const answered = source.probe()
    ping()
      .then(answered, (error) => source.down(error))
      .finally(() => {
        running = false
      })
  }
  check()
  const timer = setInterval(check, everyMs)
  timer.unref()
  return () => {
    clearInterval(timer)
    source.dispose()
  }
}
