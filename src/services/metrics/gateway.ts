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
import type { Logger } from '../../logger.js'
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

/** A signing key is meant to be rotated after this long; the alert starts `KEY_WARN_DAYS` before. */
export const KEY_MAX_AGE_DAYS = 365
export const KEY_WARN_DAYS = 30

export interface MetricsSources {
  evaluation: Pick<EvaluationStore, 'gauges'>
  /** Queue depths (queue/inspect.ts); omitted: no queue series. */
  queues?: () => Promise<{ queue: string; counts: Record<string, number>; oldestWaitingSeconds: number }[]>
  circuits?: () => Promise<{ region: string; state: 'closed' | 'open' | 'half_open'; failures: number }[]>
  /** When the current signing key was made. */
  keyCreatedAt?: Date
  /** How many cases are stranded now (services/dispatch/stranded.ts); omitted: no series, alert at 0. */
  stranded?: () => Promise<number>
  now: () => Date
  logger: Logger
  /** How long the case figures are reused between scrapes; default 10 s. */
  cacheMs?: number
}

const circuitValue = { closed: 0, half_open: 1, open: 2 } as const

export class GatewayMetrics {
  readonly registry = new MetricsRegistry()
  private readonly requests = this.registry.counter(
    'tongban_http_requests_total',
    'HTTP requests by method, route and status',
    ['method', 'route', 'status'],
  )
  private readonly deliveryAttempts = this.registry.counter(
    'tongban_delivery_attempts_total',
    'Delivery attempts by this process, by binding region and result (delivered, failed, dead_lettered, circuit_open)',
    ['region', 'result'],
  )
  private readonly latency = this.registry.histogram(
    'tongban_http_request_duration_seconds',
    'HTTP request latency by method, route and status',
    ['method', 'route', 'status'],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  )
  private readonly cases = this.registry.gauge('tongban_cases', 'Cases by status, scope and mode', [
    'status',
    'scope',
    'mode',
  ])
  private readonly overdue = this.registry.gauge('tongban_cases_overdue', 'Open cases past their due date')
  private readonly materialsOverdue = this.registry.gauge(
    'tongban_cases_materials_overdue',
    'Open cases with materials accepted as outstanding (容缺) still missing after their supply date',
  )
  private readonly delivered = this.registry.gauge('tongban_deliveries', 'Cases delivered to their processing region', [
    'region',
  ])
  private readonly deliveryFailed = this.registry.gauge(
    'tongban_delivery_failures',
    'Cases whose delivery gave up (delivery_failed), by processing region',
    ['region'],
  )
  private readonly deadLetters = this.registry.gauge(
    'tongban_dead_letters_open',
    'Dead letters not yet re-driven, by region and kind',
    ['region', 'kind'],
  )
  private readonly stranded = this.registry.gauge(
    'tongban_cases_stranded',
    'Cases not final with nothing to move them: submitted without a live dispatch job, or delivery_failed without an open dead letter (tongban doctor lists them)',
  )
  private readonly queueJobs = this.registry.gauge('tongban_queue_jobs', 'Jobs by queue and state', ['queue', 'state'])
  private readonly queueAge = this.registry.gauge(
    'tongban_queue_oldest_waiting_seconds',
    'Age of the oldest waiting job',
    ['queue'],
  )
  private readonly circuit = this.registry.gauge(
    'tongban_circuit_state',
    'Delivery circuit per binding (keyed by its region): 0 closed, 1 half-open, 2 open',
    ['region'],
  )
  private readonly circuitFailures = this.registry.gauge(
    'tongban_circuit_failures',
    'Consecutive failed deliveries counted by the circuit',
    ['region'],
  )
  private readonly alert = this.registry.gauge('tongban_alert', 'Active alerts: how many things each is about', [
    'kind',
  ])
  private readonly alertWarnings = this.registry.counter(
    'tongban_alert_warnings_total',
    'Alert warnings logged since start',
    ['kind'],
  )
  private readonly cpu = this.registry.counter('process_cpu_seconds_total', 'User and system CPU time of the process')
  private readonly rss = this.registry.gauge('process_resident_memory_bytes', 'Resident memory')
  private readonly heap = this.registry.gauge('nodejs_heap_used_bytes', 'V8 heap in use')
  private readonly started = this.registry.gauge('process_start_time_seconds', 'Start of the process (Unix time)')
  private readonly lag = this.registry.gauge('nodejs_eventloop_lag_p99_seconds', 'Event loop delay, 99th percentile')
  private readonly loop = monitorEventLoopDelay({ resolution: 20 })
  private cached: { at: number; gauges: CaseGauges } | undefined
  private readonly lastAlert = new Map<AlertKind, number>()

  constructor(private readonly sources: MetricsSources) {
    this.loop.enable()
    this.started.set({}, Math.round(Date.now() / 1000 - process.uptime()))
    const kinds = [
      'dead_letters',
      'open_circuits',
      'overdue_cases',
      'materials_overdue',
      'results_refused',
      'key_expiry',
      'stranded_cases',
    ] as const
    for (const kind of kinds) {
      this.alert.set({ kind }, 0)
      this.alertWarnings.inc({ kind }, 0)
    }
    this.registry.collect(() => this.collectCases())
    this.registry.collect(() => this.collectQueues())
    const stranded = sources.stranded
    if (stranded) this.registry.collect(async () => this.stranded.set({}, await stranded()))
    this.registry.collect(async () => {
      const usage = process.cpuUsage()
      this.cpu.setTotal({}, (usage.user + usage.system) / 1e6)
      const mem = process.memoryUsage()
      this.rss.set({}, mem.rss)
      this.heap.set({}, mem.heapUsed)
      this.lag.set({}, this.loop.percentile(99) / 1e9)
    })
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

  render(): Promise<string> {
    return this.registry.render((err) =>
      this.sources.logger.warn({ err: { message: (err as Error).message } }, 'metrics: a collector failed'),
    )
  }

  /** The alert figures now; logs a warning for each alert that appeared or changed. Run at start and periodically. */
  async checkAlerts(): Promise<Record<AlertKind, number>> {
    const gauges = await this.caseGauges(true)
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
    }
    for (const [kind, count] of Object.entries(figures) as [AlertKind, number][]) {
      this.alert.set({ kind }, count)
      const last = this.lastAlert.get(kind) ?? 0
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

  private async caseGauges(fresh = false): Promise<CaseGauges> {
    const now = Date.now()
    // The alerts read afresh (and leave the scrape's cache alone); scrapes share one read per `cacheMs`.
    if (fresh) return this.sources.evaluation.gauges()
    if (this.cached && now - this.cached.at < (this.sources.cacheMs ?? 10_000)) return this.cached.gauges
    const gauges = await this.sources.evaluation.gauges()
    this.cached = { at: now, gauges }
    return gauges
  }

  private async collectCases(): Promise<void> {
    const g = await this.caseGauges()
    this.cases.reset()
    for (const r of g.byStatus) this.cases.set({ status: r.status, scope: r.scope, mode: r.mode }, r.count)
    this.overdue.set({}, g.overdueOpen)
    this.materialsOverdue.set({}, g.materialsOverdueOpen)
    this.delivered.reset()
    this.deliveryFailed.reset()
    for (const d of g.deliveries) {
      this.delivered.set({ region: d.region }, d.delivered)
      this.deliveryFailed.set({ region: d.region }, d.failed)
    }
    this.deadLetters.reset()
    for (const d of g.openDeadLetters) this.deadLetters.set({ region: d.region, kind: d.kind }, d.count)
  }

  private async collectQueues(): Promise<void> {
    const [queues, circuits] = await Promise.all([this.sources.queues?.() ?? [], this.sources.circuits?.() ?? []])
    this.queueJobs.reset()
    for (const q of queues) {
      for (const [state, n] of Object.entries(q.counts)) this.queueJobs.set({ queue: q.queue, state }, n)
      this.queueAge.set({ queue: q.queue }, q.oldestWaitingSeconds)
    }
    this.circuit.reset()
    this.circuitFailures.reset()
    for (const c of circuits) {
      this.circuit.set({ region: c.region }, circuitValue[c.state])
      this.circuitFailures.set({ region: c.region }, c.failures)
    }
  }

  close(): void {
    this.loop.disable()
  }
}

const alertMessage: Record<AlertKind, string> = {
  dead_letters: 'alert: dead letters wait for an admin (GET /v1/admin/dead-letters)',
  open_circuits: 'alert: delivery circuits are open',
  overdue_cases: 'alert: open cases are overdue',
  materials_overdue: 'alert: materials accepted as outstanding (容缺) are still missing after their supply date',
  results_refused: 'alert: results were refused (recognition_failed on the case timeline) and none accepted since',
  key_expiry: 'alert: the gateway signing key is near the end of its life: run tongban keys rotate',
  stranded_cases: 'alert: cases are stranded with nothing to move them: run tongban doctor',
}
