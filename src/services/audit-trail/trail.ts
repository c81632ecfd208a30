/**
 * Recording administrative and security actions in the audit trail (安全审计). Verbs call `audited` around
 * their work: one record when it is done, refused (an `AppError`: its code and message are the reason) or
 * failed. Who did it comes from the caller (a person's token id, name and role; a system client; `null` is
 * the CLI with the OS user), where from is the origin the HTTP edge or the CLI set (context.ts).
 *
 * Refusals anyone can cause in bulk (unauthenticated calls to admin routes, rate-limit refusals) are
 * aggregated: the first of a kind (action, reason, actor or source address) in a window is recorded at
 * once, and the ones after it in the same window as one record with their `count` when the window ends.
 */
import {
  type AuditActor,
  type AuditEntry,
  type AuditOutcome,
  type AuditRecord,
  scrubChange,
} from '../../domain/audit-trail.js'
import { maskPersonalNumbers } from '../../domain/identity.js'
import { isAppError } from '../../errors.js'
import type { Logger } from '../../logger.js'
import type { AuditTrailStore } from '../../ports/audit-trail-store.js'
import type { Caller } from '../../ports/callers.js'
import type { Clock } from '../../ports/clock.js'
import { type AuditOrigin, originOf } from './context.js'

export interface AuditTrailDeps {
  store: AuditTrailStore
  clock: Clock
  logger: Logger
  /** Told of every record once stored (the sink, the alert counters). Errors are logged, never thrown. */
  onRecord?: ((record: AuditRecord) => void) | undefined
  /** The aggregation window of bulk refusals; default 60 s. */
  aggregateMs?: number
}

export interface Change {
  before?: unknown
  after?: unknown
  [detail: string]: unknown
}

/** What a recorded piece of work tells the trail besides its value. */
export interface Audited<T> {
  value: T
  target?: string | null
  change?: Change | null
}

/** The actor of `caller`; `null` is the CLI (the OS user from the origin). */
export function actorOf(caller: Caller | null, origin: AuditOrigin = originOf(caller)): AuditActor {
  if (caller === null && origin.via === 'system') return { kind: 'system', id: null, name: null, role: null }
  if (caller === null) return { kind: 'cli', id: origin.osUser ?? null, name: null, role: null }
  if (caller.kind === 'client') return { kind: 'client', id: caller.id, name: null, role: null }
  return { kind: 'person', id: caller.id, name: caller.name, role: caller.role }
}

const mask = (s: string) => maskPersonalNumbers(s)

/** A reason fit for the trail: no identity or phone numbers, at most 500 characters. */
function reasonOf(error: unknown): string {
  if (isAppError(error)) return mask(`${error.code}: ${error.message}`).slice(0, 500)
  return 'internal error'
}

export class AuditTrail {
  private readonly pending = new Map<string, { entry: AuditEntry; extra: number; timer: NodeJS.Timeout }>()
  private readonly writes = new Set<Promise<unknown>>()

  constructor(private readonly deps: AuditTrailDeps) {}

  get store(): AuditTrailStore {
    return this.deps.store
  }

  /** Appends one record now. A failure to store it is logged (error) and rethrown. */
  async record(
    caller: Caller | null,
    r: {
      action: string
      target?: string | null
      outcome: AuditOutcome
      reason?: string | null
      change?: Change | null
      count?: number
      actor?: AuditActor
    },
    /** Where it came from, when no caller carries it (a refused sign-in); default: the caller's. */
    from?: AuditOrigin,
  ): Promise<AuditRecord> {
    const origin = from ?? originOf(caller)
    const entry: AuditEntry = {
      at: this.deps.clock.now(),
      actor: r.actor ?? actorOf(caller, origin),
      via: origin.via,
      source: origin.source,
      userAgent: origin.userAgent === null ? null : mask(origin.userAgent),
      action: r.action,
      target: r.target === undefined || r.target === null ? null : mask(r.target),
      outcome: r.outcome,
      reason: r.reason === undefined || r.reason === null ? null : mask(r.reason).slice(0, 500),
      change: r.change ? (scrubChange(r.change, mask) as Record<string, unknown>) : null,
      count: r.count ?? 1,
    }
    return this.append(entry)
  }

  private async append(entry: AuditEntry): Promise<AuditRecord> {
    const write = this.deps.store.append(entry)
    this.writes.add(write)
    try {
      const stored = await write
      try {
        this.deps.onRecord?.(stored)
      } catch (err) {
        this.deps.logger.warn({ err }, 'audit trail: a listener failed')
      }
      return stored
    } catch (err) {
      this.deps.logger.error({ err, action: entry.action }, 'audit trail: the record could not be stored')
      throw err
    } finally {
      this.writes.delete(write)
    }
  }

  /**
   * Runs `work` and records its outcome: `done` with its target and change, `refused` (an AppError) or
   * `failed` (anything else) with the reason; the error is rethrown. A record that cannot be stored after
   * the work was done is logged, and the work's value still returned (the action happened).
   */
  async audited<T>(
    caller: Caller | null,
    action: string,
    target: string | null,
    work: () => Promise<Audited<T>>,
  ): Promise<T> {
    let done: Audited<T>
    try {
      done = await work()
    } catch (error) {
      const outcome: AuditOutcome = isAppError(error) && error.status < 500 ? 'refused' : 'failed'
      await this.record(caller, { action, target, outcome, reason: reasonOf(error) }).catch(() => undefined)
      throw error
    }
    await this.record(caller, {
      action,
      target: done.target === undefined ? target : done.target,
      outcome: 'done',
      change: done.change ?? null,
    }).catch(() => undefined)
    return done.value
  }

  /**
   * A refusal anyone can cause in bulk: recorded at once the first time per `key` in a window, then counted;
   * the window's further ones become one record with their count when it ends.
   */
  refusedInBulk(
    caller: Caller | null,
    r: { action: string; target: string | null; reason: string },
    from?: AuditOrigin,
  ): void {
    const origin = from ?? originOf(caller)
    const actor = actorOf(caller, origin)
    const key = [r.action, r.reason, actor.kind, actor.id ?? '', origin.source ?? ''].join('\u0000')
    const open = this.pending.get(key)
    if (open) {
      open.extra++
      return
    }
    const entry: AuditEntry = {
      at: this.deps.clock.now(),
      actor: caller === null && origin.via !== 'cli' ? { kind: 'anonymous', id: null, name: null, role: null } : actor,
      via: origin.via,
      source: origin.source,
      userAgent: origin.userAgent === null ? null : mask(origin.userAgent),
      action: r.action,
      target: r.target === null ? null : mask(r.target),
      outcome: 'refused',
      reason: mask(r.reason).slice(0, 500),
      change: null,
      count: 1,
    }
    const timer = setTimeout(() => this.closeWindow(key), this.deps.aggregateMs ?? 60_000)
    timer.unref()
    this.pending.set(key, { entry, extra: 0, timer })
    this.append(entry).catch(() => undefined)
  }

  private closeWindow(key: string): void {
    const open = this.pending.get(key)
    if (!open) return
    this.pending.delete(key)
    clearTimeout(open.timer)
    if (open.extra === 0) return
    this.append({
      ...open.entry,
      at: this.deps.clock.now(),
      count: open.extra,
      change: { aggregated: true, since: open.entry.at.toISOString() },
    }).catch(() => undefined)
  }

  /** Writes the open windows' counts and waits for every write in flight (at shutdown, and in tests). */
  async flush(): Promise<void> {
    for (const key of [...this.pending.keys()]) this.closeWindow(key)
    await Promise.allSettled([...this.writes])
  }
}

/**
 * Records through `trail` when there is one (the HTTP runtime and the CLI always give one; a unit test may
 * not), else just runs the work.
 */
export async function auditedBy<T>(
  trail: AuditTrail | undefined,
  caller: Caller | null,
  action: string,
  target: string | null,
  work: () => Promise<Audited<T>>,
): Promise<T> {
  if (!trail) return (await work()).value
  return trail.audited(caller, action, target, work)
}
