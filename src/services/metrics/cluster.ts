/**
 * `/metrics` with `WORKERS` > 1. Every worker process keeps its own series; the HTTP port is shared, so a
 * scrape lands on one worker at random. That worker therefore asks the primary (over the cluster's IPC
 * channel), and the primary collects every worker's series with prom-client's `AggregatorRegistry` and
 * combines them by each series' `aggregator` (counters summed, database gauges taken once): the answer is
 * the same whichever worker the scrape reached. Nothing listens on another port.
 */
import cluster, { type Worker } from 'node:cluster'
import { AggregatorRegistry } from 'prom-client'
import { AppError } from '../../errors.js'
import type { Logger } from '../../logger.js'
import type { MetricsRegistry } from './registry.js'

const SCRAPE_REQ = 'tongban:metrics-req'
const SCRAPE_RES = 'tongban:metrics-res'

interface ScrapeRequest {
  type: typeof SCRAPE_REQ
  id: number
}
interface ScrapeAnswer {
  type: typeof SCRAPE_RES
  id: number
  text?: string
  error?: string
}

const isRequest = (m: unknown): m is ScrapeRequest =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === SCRAPE_REQ
const isAnswer = (m: unknown): m is ScrapeAnswer =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === SCRAPE_RES

/**
 * In the primary: answers the workers' scrape requests with the aggregate of all workers. prom-client
 * gives up on a worker that does not answer within 5 s (one still starting, or stuck): the scrape then fails
 * with 503 rather than showing a partial sum. Returns a function that stops answering.
 */
export function answerClusterScrapes(logger: Logger): () => void {
  const aggregator = new AggregatorRegistry()
  const onMessage = (worker: Worker, message: unknown) => {
    if (!isRequest(message)) return
    const reply = (answer: Omit<ScrapeAnswer, 'type' | 'id'>) => {
      if (worker.isConnected()) worker.send({ type: SCRAPE_RES, id: message.id, ...answer })
    }
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (err: Error) => {
        logger.warn({ err: { message: err.message } }, 'metrics: the workers’ series could not be collected')
        reply({ error: err.message })
      },
    )
  }
  cluster.on('message', onMessage)
  return () => cluster.off('message', onMessage)
}

/**
 * In a worker: offers `registry` to the primary's aggregation and returns the scrape function of
 * `GET /metrics` (asks the primary; fails with 503 `not_ready` after `timeoutMs`).
 */
export function clusterScrape(registry: MetricsRegistry, timeoutMs = 10_000): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry.prom])
  // Constructing one adds prom-client's listener that answers the primary with this worker's series.
  new AggregatorRegistry()
  const pending = new Map<number, (answer: ScrapeAnswer) => void>()
  let next = 0
  process.on('message', (message: unknown) => {
    if (isAnswer(message)) pending.get(message.id)?.(message)
  })
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++
      const timer = setTimeout(() => settle({ type: SCRAPE_RES, id, error: 'timed out' }), timeoutMs)
      const settle = (answer: ScrapeAnswer) => {
        clearTimeout(timer)
        pending.delete(id)
        if (answer.text !== undefined) resolve(answer.text)
        else reject(new AppError('not_ready', 'the metrics of the worker processes could not be collected; try again'))
      }
      pending.set(id, settle)
      if (process.send === undefined) return settle({ type: SCRAPE_RES, id, error: 'not a cluster worker' })
      process.send({ type: SCRAPE_REQ, id } satisfies ScrapeRequest)
    })
}
