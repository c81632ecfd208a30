/**
 * The gateway's metrics (`GET /metrics`) and its alerts. Requests are counted as they happen; the rest
 * is read at scrape time (cases from PostgreSQL, cached a few seconds because the counts scan the case
 * table; queues and circuits from Redis). The alerts are on from the first start, with no configuration:
 * open dead letters, open circuits, overdue cases, 容缺 materials past their supply date, cases whose result
 * was refused (`recognition_failed`) with none accepted since, a signing key near the end of its life and stranded
 * cases (submitted with no live dispatch job, delivery_failed with no open dead letter) are logged
 * as warnings when they appear or change, and exposed as `tongban_alert{kind}` with a count of warnings.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { Counter, Gauge, Histogram } from 'prom-client'
import type { Logger } from '../../logger.js'
import type { AlertState } from '../../ports/alert-state.js'
import type { CaseGauges, EvaluationStore } from '../../ports/evaluation-store.js'
import { MetricsRegistry } from './registry.js'

export type AlertKind =
  | 'dead_letters'
  | 'open_circuits'
  | 'overdue_cases'
  | 'materials_overdue'
  | 'results_refused'
  | 'key_expiry'
  | 'stranded_cases'
  | 'signin_failures'
  | 'audit_off_hours'

/** A signing key is meant to be rotated after this long; the alert starts `KEY_WARN_DAYS` before. */
export const KEY_MAX_AGE_DAYS = 365
export const KEY_WARN_DAYS = 30

export interface MetricsSources {
  evaluation: Pick<EvaluationStore, 'gauges'>
  /** Queue depths (queue/inspect.ts); omitted: no queue series. */
  queues?: () => Promise<{ queue: string; counts: Record<string, number>; oldestWaitingSeconds: number }[]>
  circuits?: () => Promise<{ region: string; state: 'closed' | 'open' | 'half_open'; failures: number }[]>
  /** Deliveries in flight in this process, by binding region (services/dispatch/binding-limiter.ts). */
  inFlight?: () => Map<string, number>
  /** When the current signing key was made. */
  keyCreatedAt?: Date
  /** How many cases are stranded now (services/dispatch/stranded.ts); omitted: no series, alert at 0. */
  stranded?: () => Promise<number>
  now: () => Date
  logger: Logger
  /**
   * The figures of the last alert check, kept for every process of the gateway (the check runs once per
   * fleet: queue/alert-state.ts); omitted: this process's own memory.
   */
  alertState?: AlertState
  /** How long the case figures are reused between scrapes; default 10 s. */
  cacheMs?: number
  /** The audit trail's figures (services/audit-trail/alerts.ts); omitted: those alerts stay at 0. */
  audit?: (() => Promise<{ signinFailures: number; offHours: number }>) | undefined
}

const circuitValue = { closed: 0, half_open: 1, open: 2 } as const

/** Reuses one read (and one read in flight) for `ms`: the gauges that share a source read it once per scrape. */
function shared<T>(read: () => Promise<T>, ms: () => number): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined
  return () => {
    const now = Date.now()
    if (last && now - last.at < ms()) return last.value
    const value = read()
    last = { at: now, value }
    // A failed read is not reused: the next scrape tries again.
    value.catch(() => {
      if (last?.value === value) last = undefined
    })
    return value
  }
}

/**
 * Every series of the gateway. To add one: a field below, `this.registry.counter|gauge|histogram(name, help,
 * labels, { aggregator, collect })`; a gauge read at scrape time from PostgreSQL or Redis takes
 * `aggregator: 'first'` and a `collect` over `this.caseGauges()` or `this.queueState()`.
 */
export class GatewayMetrics {
  readonly registry: MetricsRegistry
  private readonly caseGauges: () => Promise<CaseGauges>
  private readonly queueState: () => Promise<{
    queues: Awaited<ReturnType<NonNullable<MetricsSources['queues']>>>
    circuits: Awaited<ReturnType<NonNullable<MetricsSources['circuits']>>>
  }>
  private readonly requests: Counter
  private readonly deliveryAttempts: Counter
  private readonly latency: Histogram
  private readonly rateLimited: Counter
  private readonly alert: Gauge
  private readonly alertWarnings: Counter
  private readonly loop = monitorEventLoopDelay({ resolution: 20 })
  private readonly lastAlert = new Map<AlertKind, number>()

  constructor(private readonly sources: MetricsSources) {
    this.registry = new MetricsRegistry((err, series) =>
      sources.logger.warn({ err: { message: (err as Error).message }, series }, 'metrics: a collector failed'),
    )
    const r = this.registry
    // Scrapes share one read of the case figures per `cacheMs` (the counts scan the case table).
    this.caseGauges = shared(
      () => sources.evaluation.gauges(),
      () => sources.cacheMs ?? 10_000,
    )
    this.queueState = shared(
      async () => {
        const [queues, circuits] = await Promise.all([sources.queues?.() ?? [], sources.circuits?.() ?? []])
        return { queues, circuits }
      },
      () => 1000,
    )
    const fromCases = (set: (g: Gauge, figures: CaseGauges) => void) => ({
      aggregator: 'first' as const,
      collect: async (g: Gauge) => {
        const figures = await this.caseGauges()
        set(g, figures)
      },
    })
    const fromQueues = (set: (g: Gauge, state: Awaited<ReturnType<typeof this.queueState>>) => void) => ({
      aggregator: 'first' as const,
      collect: async (g: Gauge) => {
        const state = await this.queueState()
        set(g, state)
      },
    })

    this.requests = r.counter('tongban_http_requests_total', 'HTTP requests by method, route and status', [
      'method',
      'route',
      'status',
    ])
    this.deliveryAttempts = r.counter(
      'tongban_delivery_attempts_total',
      'Delivery attempts by this process, by binding region and result (delivered, failed, dead_lettered, circuit_open)',
      ['region', 'result'],
    )
    this.latency = r.histogram(
      'tongban_http_request_duration_seconds',
      'HTTP request latency by method, route and status',
      ['method', 'route', 'status'],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    )
    this.rateLimited = r.counter(
      'tongban_rate_limited_total',
      'Requests refused with 429 rate_limited, by the limit that refused them',
      ['limit'],
    )
    r.gauge(
      'tongban_cases',
      'Cases by status, scope and mode',
      ['status', 'scope', 'mode'],
      fromCases((g, f) => {
        g.reset()
        for (const s of f.byStatus) g.set({ status: s.status, scope: s.scope, mode: s.mode }, s.count)
      }),
    )
    r.gauge(
      'tongban_cases_overdue',
      'Open cases past their due date',
      [],
      fromCases((g, f) => g.set(f.overdueOpen)),
    )
    r.gauge(
      'tongban_cases_materials_overdue',
      'Open cases with materials accepted as outstanding (容缺) still missing after their supply date',
      [],
      fromCases((g, f) => g.set(f.materialsOverdueOpen)),
    )
    r.gauge(
      'tongban_deliveries',
      'Cases delivered to their processing region',
      ['region'],
      fromCases((g, f) => {
        g.reset()
        for (const d of f.deliveries) g.set({ region: d.region }, d.delivered)
      }),
    )
    r.gauge(
      'tongban_delivery_failures',
      'Cases whose delivery gave up (delivery_failed), by processing region',
      ['region'],
      fromCases((g, f) => {
        g.reset()
        for (const d of f.deliveries) g.set({ region: d.region }, d.failed)
      }),
    )
    r.gauge(
      'tongban_dead_letters_open',
      'Dead letters not yet re-driven, by region and kind',
      ['region', 'kind'],
      fromCases((g, f) => {
        g.reset()
        for (const d of f.openDeadLetters) g.set({ region: d.region, kind: d.kind }, d.count)
      }),
    )
    r.gauge(
      'tongban_queue_jobs',
      'Jobs by queue and state',
      ['queue', 'state'],
      fromQueues((g, { queues }) => {
        g.reset()
        for (const q of queues) for (const [state, n] of Object.entries(q.counts)) g.set({ queue: q.queue, state }, n)
      }),
    )
    r.gauge(
      'tongban_queue_oldest_waiting_seconds',
      'Age of the oldest waiting job',
      ['queue'],
      fromQueues((g, { queues }) => {
        for (const q of queues) g.set({ queue: q.queue }, q.oldestWaitingSeconds)
      }),
    )
    const inFlight = sources.inFlight
    if (inFlight) {
      // Beside the rate of tongban_delivery_attempts_total{result="delivered"}: how close each binding runs
      // to its `concurrency` cap.
      r.gauge('tongban_delivery_in_flight', 'Deliveries in flight now, by binding region', ['region'], {
        collect: (g: Gauge) => {
          g.reset()
          for (const [region, n] of inFlight()) g.set({ region }, n)
        },
      })
    }
    r.gauge(
      'tongban_circuit_state',
      'Delivery circuit per binding (keyed by its region): 0 closed, 1 half-open, 2 open',
      ['region'],
      fromQueues((g, { circuits }) => {
        g.reset()
        for (const c of circuits) g.set({ region: c.region }, circuitValue[c.state])
      }),
    )
    r.gauge(
      'tongban_circuit_failures',
      'Consecutive failed deliveries counted by the circuit',
      ['region'],
      fromQueues((g, { circuits }) => {
        g.reset()
        for (const c of circuits) g.set({ region: c.region }, c.failures)
      }),
    )
    const stranded = sources.stranded
    if (stranded) {
      r.gauge(
        'tongban_cases_stranded',
        'Cases not final with nothing to move them: submitted without a live dispatch job, or delivery_failed without an open dead letter (tongban doctor lists them)',
        [],
        { aggregator: 'first', collect: async (g) => g.set(await stranded()) },
      )
    }
    // The last check's figures, wherever it ran (the shared state when there is one): the primary takes the largest.
    const alertState = sources.alertState
    this.alert = r.gauge('tongban_alert', 'Active alerts: how many things each is about', ['kind'], {
      aggregator: 'max',
      ...(alertState
        ? {
            collect: async (g: Gauge) => {
              const figures = await alertState.read().catch((): Record<string, number> => ({}))
              for (const kind of alertKinds) g.set({ kind }, figures[kind] ?? this.lastAlert.get(kind) ?? 0)
            },
          }
        : {}),
    })
    this.alertWarnings = r.counter('tongban_alert_warnings_total', 'Alert warnings logged since start', ['kind'], {
      aggregator: 'max',
    })
    // Resources of the processes: summed over the workers (CPU, memory), the worst event loop, the oldest start.
    r.counter('process_cpu_seconds_total', 'User and system CPU time of the process', [], {
      collect: (c) => {
        const usage = process.cpuUsage()
        c.reset()
        c.inc((usage.user + usage.system) / 1e6)
      },
    })
    r.gauge('process_resident_memory_bytes', 'Resident memory', [], {
      collect: (g) => g.set(process.memoryUsage.rss()),
    })
    r.gauge('nodejs_heap_used_bytes', 'V8 heap in use', [], { collect: (g) => g.set(process.memoryUsage().heapUsed) })
    r.gauge('process_start_time_seconds', 'Start of the process (Unix time)', [], { aggregator: 'min' }).set(
      Math.round(Date.now() / 1000 - process.uptime()),
    )
    r.gauge('nodejs_eventloop_lag_p99_seconds', 'Event loop delay, 99th percentile', [], {
      aggregator: 'max',
      collect: (g) => g.set(this.loop.percentile(99) / 1e9),
    })

    this.loop.enable()
    for (const kind of alertKinds) {
      this.alert.set({ kind }, 0)
      this.alertWarnings.inc({ kind }, 0)
    }
  }

  /** One request refused by a rate limit (`limit` names it: client, person, verify, signin …). */
  observeRateLimited(limit: string): void {
    this.rateLimited.inc({ limit })
  }

  /** One delivery attempt of this process's dispatch worker and what became of it. */
  observeDelivery(region: string, result: string): void {
    this.deliveryAttempts.inc({ region, result })
  }

  /** One request: `route` is the matched route pattern (never the raw path, which holds ids). */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) }
    this.requests.inc(labels)
    this.latency.observe(labels, seconds)
  }

  /** This process's series (a cluster worker's /metrics asks the primary for all of them instead). */
  render(): Promise<string> {
    return this.registry.render()
  }

  /** Adds the audit trail's figures to the alerts (the trail is built after the metrics). */
  useAuditFigures(source: NonNullable<MetricsSources['audit']>): void {
    this.sources.audit = source
  }

  /** The alert figures now; logs a warning for each alert that appeared or changed. Run at start and periodically. */
  async checkAlerts(): Promise<Record<AlertKind, number>> {
    const gauges = await this.sources.evaluation.gauges()
    const circuits = (await this.sources.circuits?.()) ?? []
    const keyAgeDays =
      this.sources.keyCreatedAt === undefined
        ? 0
        : (this.sources.now().getTime() - this.sources.keyCreatedAt.getTime()) / 86_400_000
    const figures: Record<AlertKind, number> = {
      dead_letters: gauges.openDeadLetters.reduce((n, d) => n + d.count, 0),
      open_circuits: circuits.filter((c) => c.state !== 'closed').length,
      overdue_cases: gauges.overdueOpen,
      materials_overdue: gauges.materialsOverdueOpen,
      results_refused: gauges.resultsRefusedOpen,
      key_expiry: keyAgeDays >= KEY_MAX_AGE_DAYS - KEY_WARN_DAYS ? 1 : 0,
      // Needs Redis too: while it cannot be asked, the last figure stands and the other alerts still run.
      stranded_cases: (await this.sources.stranded?.().catch(() => this.lastAlert.get('stranded_cases'))) ?? 0,
      signin_failures: 0,
      audit_off_hours: 0,
    }
    const audit = await this.sources.audit?.().catch(() => undefined)
    if (audit) {
      figures.signin_failures = audit.signinFailures
      figures.audit_off_hours = audit.offHours
    }
    // A change is said once for the gateway: compared with the last check wherever it ran.
    const shared = await this.sources.alertState?.read().catch(() => undefined)
    await this.sources.alertState?.write(figures).catch(() => {})
    for (const [kind, count] of Object.entries(figures) as [AlertKind, number][]) {
      this.alert.set({ kind }, count)
      const last = shared?.[kind] ?? this.lastAlert.get(kind) ?? 0
      this.lastAlert.set(kind, count)
      if (count === 0 || count === last) continue
      this.alertWarnings.inc({ kind })
      const detail =
        kind === 'open_circuits'
          ? { regions: circuits.filter((c) => c.state !== 'closed').map((c) => c.region) }
          : kind === 'key_expiry'
            ? { keyAgeDays: Math.floor(keyAgeDays), rotateAfterDays: KEY_MAX_AGE_DAYS }
            : {}
      this.sources.logger.warn({ alert: kind, count, ...detail }, alertMessage[kind])
    }
    return figures
  }

  close(): void {
    this.loop.disable()
  }
}

const alertKinds: readonly AlertKind[] = [
  'dead_letters',
  'open_circuits',
  'overdue_cases',
  'materials_overdue',
  'results_refused',
  'key_expiry',
  'stranded_cases',
  'signin_failures',
  'audit_off_hours',
]

const alertMessage: Record<AlertKind, string> = {
  dead_letters: 'alert: dead letters wait for an admin (GET /v1/admin/dead-letters)',
  open_circuits: 'alert: delivery circuits are open',
  overdue_cases: 'alert: open cases are overdue',
  materials_overdue: 'alert: materials accepted as outstanding (容缺) are still missing after their supply date',
  results_refused: 'alert: results were refused (recognition_failed on the case timeline) and none accepted since',
  key_expiry: 'alert: the gateway signing key is near the end of its life: run tongban keys rotate',
  stranded_cases: 'alert: cases are stranded with nothing to move them: run tongban doctor',
  signin_failures: 'alert: repeated failed sign-ins from one address (the audit trail, action session.sign_in)',
  audit_off_hours: 'alert: administrative actions outside working hours (AUDIT_WORKING_HOURS; the audit trail)',
}
