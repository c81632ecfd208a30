/**
 * Wiring of the audit trail (docs/audit.md) into one gateway process: the store, the optional HTTP sink,
 * the alert figures, the retention timer, the start-up warning about the separated duties, and handing
 * the trail to every verb's dependencies.
 */
import { createSocket } from 'node:dgram'
import { isIPv6 } from 'node:net'
import type { Config } from '../../config/env.js'
import type { AuditRecord } from '../domain/audit-trail.js'
import type { HttpDeps } from '../http/deps.js'
import { recordRateLimited } from '../http/middleware/audit.js'
import type { Logger } from '../logger.js'
import type { TokenStore } from '../ports/callers.js'
import type { Clock } from '../ports/clock.js'
import { auditAlertFigures } from '../services/audit-trail/alerts.js'
import { withAuditOrigin } from '../services/audit-trail/context.js'
import { pruneAuditTrail } from '../services/audit-trail/prune.js'
import { AuditTrail } from '../services/audit-trail/trail.js'
import type { GatewayMetrics } from '../services/metrics/gateway.js'
import { PgAuditTrailStore } from '../store/audit-trail-store.js'
import type { Database } from '../store/db.js'

export interface AuditTrailRuntime {
  trail: AuditTrail
  /** Gives the trail to the verbs' dependencies and the rate limits. */
  attach(deps: HttpDeps): void
  /** Writes the open aggregation windows and waits for records in flight. */
  close(): Promise<void>
}

/**
 * An HTTP sink: every record POSTed as JSON to `url` (a central log platform), at most 5 s each, in order of
 * storing; failures are logged (once a minute at most) and the record stays in the database either way.
 */
export function httpSink(url: string, logger: Logger): (record: AuditRecord) => void {
  let lastWarned = 0
  let chain: Promise<void> = Promise.resolve()
  return (record) => {
    chain = chain.then(async () => {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...record, at: record.at.toISOString() }),
          signal: AbortSignal.timeout(5_000),
        })
        await res.body?.cancel()
        if (!res.ok) throw new Error(`HTTP ${res.status}`)
      } catch (err) {
        if (Date.now() - lastWarned > 60_000) {
          lastWarned = Date.now()
          logger.warn({ err: { message: (err as Error).message } }, 'audit sink: a record could not be sent')
        }
      }
    })
  }
}

/** Syslog facility 13 (log audit), RFC 5424; severity 5 (notice) for done, 4 (warning) otherwise. */
const SYSLOG_AUDIT_FACILITY = 13
/** A UDP datagram's payload stays below this; a larger record is sent without its change. */
const SYSLOG_MAX_BYTES = 60_000

/** One record as an RFC 5424 message: the record's JSON as the message, its action as MSGID. */
export function syslogMessage(record: AuditRecord, gatewayId: string): Buffer {
  const pri = SYSLOG_AUDIT_FACILITY * 8 + (record.outcome === 'done' ? 5 : 4)
  const head = `<${pri}>1 ${record.at.toISOString()} ${gatewayId} tongban ${process.pid} ${record.action.slice(0, 32)} - `
  const json = { ...record, at: record.at.toISOString() }
  let message = Buffer.from(head + JSON.stringify(json), 'utf8')
  if (message.length > SYSLOG_MAX_BYTES) {
    message = Buffer.from(head + JSON.stringify({ ...json, change: { truncated: true } }), 'utf8')
  }
  return message
}

/** A syslog sink over UDP (`udp://host:port`): fire and forget, failures logged once a minute at most. */
export function syslogSink(
  url: string,
  gatewayId: string,
  logger: Logger,
): ((record: AuditRecord) => void) & { close(): void } {
  const target = new URL(url)
  const host = target.hostname.replace(/^\[|\]$/g, '')
  const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4')
  socket.unref()
  let lastWarned = 0
  const warn = (err: Error) => {
    if (Date.now() - lastWarned > 60_000) {
      lastWarned = Date.now()
      logger.warn({ err: { message: err.message } }, 'audit syslog: a record could not be sent')
    }
  }
  socket.on('error', warn)
  const send = (record: AuditRecord) => {
    socket.send(syslogMessage(record, gatewayId), Number(target.port), host, (err) => {
      if (err) warn(err)
    })
  }
  return Object.assign(send, { close: () => socket.close() })
}

/**
 * Warns while admin tokens from before this start exist without a security administrator or an auditor
 * (三员分立 not set up). A first start's own admin token is not one: its message explains the bootstrap.
 */
export async function warnUnseparatedDuties(tokens: TokenStore, logger: Logger, startedAt: Date): Promise<void> {
  const live = (await tokens.list()).filter((t) => t.revokedAt === null)
  const has = (role: string) => live.some((t) => t.role === role)
  const missing = ['security', 'auditor'].filter((r) => !has(r))
  const earlierAdmin = live.some((t) => t.role === 'admin' && t.createdAt < startedAt)
  if (earlierAdmin && missing.length > 0) {
    logger.warn(
      { missing },
      `duties not separated: no ${missing.join(' or ')} token yet; an admin issues the first ones ` +
        '(tongban tokens create --role security|auditor, or 人员令牌 in the console), see docs/audit.md',
    )
  }
}

export function startAuditTrail(opts: {
  config: Config
  logger: Logger
  database: Database
  clock: Clock
  tokens: TokenStore
  runWorkers: boolean
  metrics?: GatewayMetrics
}): AuditTrailRuntime {
  const { config, logger, clock } = opts
  const store = new PgAuditTrailStore(opts.database)
  const syslog = config.audit.syslogUrl ? syslogSink(config.audit.syslogUrl, config.gateway.id, logger) : undefined
  const http = config.audit.sinkUrl ? httpSink(config.audit.sinkUrl, logger) : undefined
  const trail = new AuditTrail({
    store,
    clock,
    logger,
    onRecord:
      syslog || http
        ? (record) => {
            http?.(record)
            syslog?.(record)
          }
        : undefined,
  })
  opts.metrics?.useAuditFigures(() =>
    auditAlertFigures({
      store,
      now: clock.now(),
      signinThreshold: config.audit.signinAlert,
      workingHours: config.audit.workingHours,
    }),
  )
  void warnUnseparatedDuties(opts.tokens, logger, new Date()).catch(() => undefined)

  // Retention where the workers run, with the other retention (RETENTION_INTERVAL_MS).
  let pruning: Promise<unknown> | undefined
  const prune = () => {
    pruning ??= withAuditOrigin({ via: 'system', source: null, userAgent: null }, () =>
      pruneAuditTrail({ caller: null, deps: trail }, { keepDays: config.audit.retentionDays }),
    )
      .catch((err) => logger.warn({ err: { message: (err as Error).message } }, 'audit trail retention failed'))
      .finally(() => {
        pruning = undefined
      })
  }
  const timer =
    opts.runWorkers && config.retentionIntervalMs > 0 ? setInterval(prune, config.retentionIntervalMs) : undefined
  timer?.unref()

  return {
    trail,
    attach(deps) {
      deps.auditTrail = trail
      deps.admin.trail = trail
      deps.agreements.trail = trail
      deps.bindings.trail = trail
      deps.keyAdmin.trail = trail
      if (deps.auth.sessions) deps.auth.sessions.trail = trail
      const limits = deps.rateLimits
      if (limits) limits.onRefused = (c, limit) => recordRateLimited(trail, c, limit, limits.trustProxy)
    },
    async close() {
      clearInterval(timer)
      await pruning
      await trail.flush()
      syslog?.close()
    },
  }
}
