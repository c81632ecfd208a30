/**
 * The gateway's metric registry: prom-client underneath (text exposition format 0.0.4, and the cluster
 * aggregation of `WORKERS` > 1), behind three factory calls so that defining a series stays one line.
 *
 * Each series says how the primary combines the figures of the worker processes (`aggregator`): counters
 * and histograms of what each process did are summed (the default); a gauge that every process reads from
 * the same place (PostgreSQL, Redis) takes `'first'`, or `'max'`, so that it is not counted once per process.
 * A gauge read at scrape time gets a `collect` function; one that throws is reported by `onCollectError`
 * and leaves its gauge as it was, so one unreachable source does not empty the whole scrape.
 *
 * @example
 * const registry = new MetricsRegistry()
 * const requests = registry.counter('http_requests_total', 'HTTP requests', ['route', 'status'])
 * requests.inc({ route: '/v1/cases', status: '201' })
 * registry.gauge('queue_depth', 'Waiting jobs', ['queue'], {
 *   aggregator: 'first',
 *   collect: async (g) => g.set({ queue: 'case.dispatch' }, await countWaiting()),
 * })
 * const text = await registry.render()
 */
import { type Aggregator, Counter, Gauge, Histogram, Registry } from 'prom-client'

export type { Aggregator }

export interface SeriesOptions<M> {
  /** How the cluster primary combines the workers' values; default `'sum'`. */
  aggregator?: Aggregator
  /** Runs at every scrape (and every cluster aggregation) before the series is read. */
  collect?: (metric: M) => void | Promise<void>
}

export class MetricsRegistry {
  /** The prom-client registry (the cluster aggregation reads it). */
  readonly prom = new Registry()

  constructor(private readonly onCollectError?: (err: unknown, series: string) => void) {}

  counter(name: string, help: string, labels: readonly string[] = [], opts: SeriesOptions<Counter> = {}): Counter {
    return new Counter({ name, help, labelNames: labels, registers: [this.prom], ...this.options(name, opts) })
  }

  gauge(name: string, help: string, labels: readonly string[] = [], opts: SeriesOptions<Gauge> = {}): Gauge {
    return new Gauge({ name, help, labelNames: labels, registers: [this.prom], ...this.options(name, opts) })
  }

  histogram(
    name: string,
    help: string,
    labels: readonly string[],
    buckets: readonly number[],
    opts: SeriesOptions<Histogram> = {},
  ): Histogram {
    return new Histogram({
      name,
      help,
      labelNames: labels,
      buckets: [...buckets],
      registers: [this.prom],
      ...this.options(name, opts),
    })
  }

  /** This process's series in the text format. */
  render(): Promise<string> {
    return this.prom.metrics()
  }

  private options<M>(name: string, opts: SeriesOptions<M>) {
    const { aggregator, collect } = opts
    const report = this.onCollectError
    return {
      ...(aggregator !== undefined ? { aggregator } : {}),
      ...(collect !== undefined
        ? {
            async collect(this: M) {
              try {
                await collect(this)
              } catch (err) {
                report?.(err, name)
              }
            },
          }
        : {}),
    }
  }
}
