/**
 * A small Prometheus registry (text exposition format 0.0.4): counters, gauges and histograms with
 * labels, and collectors that set gauges at scrape time. Hand-written rather than prom-client: the
 * gateway needs a dozen series, and this keeps the dependency list short.
 *
 * @example
 * const registry = new MetricsRegistry()
 * const requests = registry.counter('http_requests_total', 'HTTP requests', ['route', 'status'])
 * requests.inc({ route: '/v1/cases', status: '201' })
 * registry.collect(async () => { queueDepth.set({ queue: 'case.dispatch' }, await countWaiting()) })
 * const text = await registry.render()
 */

type Labels = Record<string, string>

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')

function labelText(names: readonly string[], labels: Labels, extra?: [string, string]): string {
  const parts = names.map((n) => `${n}="${escapeLabel(labels[n] ?? '')}"`)
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`)
  return parts.length === 0 ? '' : `{${parts.join(',')}}`
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Number.POSITIVE_INFINITY) return '+Inf'
  if (v === Number.NEGATIVE_INFINITY) return '-Inf'
  return String(v)
}

abstract class Metric {
  protected readonly series = new Map<string, { labels: Labels; value: number }>()

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly type: 'counter' | 'gauge',
  ) {}

  protected key(labels: Labels): string {
    return this.labelNames.map((n) => labels[n] ?? '').join('\u0000')
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`]
    for (const s of this.series.values()) {
      lines.push(`${this.name}${labelText(this.labelNames, s.labels)} ${formatValue(s.value)}`)
    }
    return lines
  }

  /** The value of one series (tests, alerts); 0 when never set. */
  get(labels: Labels = {}): number {
    return this.series.get(this.key(labels))?.value ?? 0
  }
}

export class Counter extends Metric {
  /** For a total kept elsewhere that only grows (the process's CPU time): copied at scrape time. */
  setTotal(labels: Labels, value: number): void {
    this.series.set(this.key(labels), { labels: { ...labels }, value })
  }

  inc(labels: Labels = {}, by = 1): void {
    const k = this.key(labels)
    const s = this.series.get(k)
    if (s) s.value += by
    else this.series.set(k, { labels: { ...labels }, value: by })
  }
}

export class Gauge extends Metric {
  set(labels: Labels, value: number): void {
    this.series.set(this.key(labels), { labels: { ...labels }, value })
  }

  /** Drops every series (a collector that sets the whole family afresh at each scrape). */
  reset(): void {
    this.series.clear()
  }
}

export class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>()

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const k = this.labelNames.map((n) => labels[n] ?? '').join('\u0000')
    let s = this.series.get(k)
    if (!s) {
      s = { labels: { ...labels }, counts: this.buckets.map(() => 0), sum: 0, count: 0 }
      this.series.set(k, s)
    }
    for (const [i, bound] of this.buckets.entries()) if (value <= bound) s.counts[i] = (s.counts[i] ?? 0) + 1
    s.sum += value
    s.count += 1
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} histogram`]
    for (const s of this.series.values()) {
      for (const [i, bound] of this.buckets.entries()) {
        lines.push(`${this.name}_bucket${labelText(this.labelNames, s.labels, ['le', String(bound)])} ${s.counts[i]}`)
      }
      lines.push(`${this.name}_bucket${labelText(this.labelNames, s.labels, ['le', '+Inf'])} ${s.count}`)
      lines.push(`${this.name}_sum${labelText(this.labelNames, s.labels)} ${formatValue(s.sum)}`)
      lines.push(`${this.name}_count${labelText(this.labelNames, s.labels)} ${s.count}`)
    }
    return lines
  }
}

export class MetricsRegistry {
  private readonly metrics: { render(): string[] }[] = []
  private readonly collectors: (() => Promise<void>)[] = []

  counter(name: string, help: string, labels: readonly string[] = []): Counter {
    const m = new Counter(name, help, labels, 'counter')
    this.metrics.push(m)
    return m
  }

  gauge(name: string, help: string, labels: readonly string[] = []): Gauge {
    const m = new Gauge(name, help, labels, 'gauge')
    this.metrics.push(m)
    return m
  }

  histogram(name: string, help: string, labels: readonly string[], buckets: readonly number[]): Histogram {
    const m = new Histogram(name, help, labels, buckets)
    this.metrics.push(m)
    return m
  }

  /** Runs at every scrape, before rendering; a failing collector is reported by `onError` and skipped. */
  collect(fn: () => Promise<void>): void {
    this.collectors.push(fn)
  }

  async render(onError?: (err: unknown) => void): Promise<string> {
    const results = await Promise.allSettled(this.collectors.map((c) => c()))
    for (const r of results) if (r.status === 'rejected') onError?.(r.reason)
    return `${this.metrics.flatMap((m) => m.render()).join('\n')}\n`
  }
}
