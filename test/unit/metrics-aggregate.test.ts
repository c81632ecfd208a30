/**
 * How the cluster primary combines the workers' series (prom-client's AggregatorRegistry over each
 * worker's registry): what each process counted is summed; what each process reads from the same database
 * or Redis is taken once.
 */
import { AggregatorRegistry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logger.js'
import { GatewayMetrics } from '../../src/services/metrics/gateway.js'

function worker() {
  return new GatewayMetrics({
    evaluation: {
      gauges: async () => ({
        byStatus: [{ status: 'submitted', scope: 'cross_city', mode: 'full_online', count: 7 }],
        overdueOpen: 3,
        materialsOverdueOpen: 1,
        resultsRefusedOpen: 0,
        openDeadLetters: [{ region: '420600', kind: 'dispatch', count: 2 }],
        deliveries: [{ region: '420600', delivered: 5, failed: 1 }],
      }),
    },
    queues: async () => [{ queue: 'case.dispatch', counts: { waiting: 4 }, oldestWaitingSeconds: 12 }],
    circuits: async () => [{ region: '420600', state: 'open', failures: 5 }],
    now: () => new Date(),
    logger: createLogger('silent'),
  })
}

describe('the aggregation over worker processes', () => {
  it('sums requests, deliveries, refusals and CPU; takes database and Redis gauges once', async () => {
    const [a, b] = [worker(), worker()]
    a.observeRequest('GET', '/v1/cases', 200, 0.01)
    a.observeRequest('GET', '/v1/cases', 200, 0.02)
    b.observeRequest('GET', '/v1/cases', 200, 0.03)
    a.observeDelivery('420600', 'delivered')
    b.observeDelivery('420600', 'delivered')
    b.observeRateLimited('client')
    const merged = AggregatorRegistry.aggregate([
      await a.registry.prom.getMetricsAsJSON(),
      await b.registry.prom.getMetricsAsJSON(),
    ])
    const text = await merged.metrics()
    a.close()
    b.close()
    expect(text).toContain('tongban_http_requests_total{method="GET",route="/v1/cases",status="200"} 3')
    expect(text).toContain('tongban_http_request_duration_seconds_count{method="GET",route="/v1/cases",status="200"} 3')
    expect(text).toContain('tongban_delivery_attempts_total{region="420600",result="delivered"} 2')
    expect(text).toContain('tongban_rate_limited_total{limit="client"} 1')
    expect(text).toContain('tongban_cases{status="submitted",scope="cross_city",mode="full_online"} 7')
    expect(text).toContain('tongban_cases_overdue 3')
    expect(text).toContain('tongban_dead_letters_open{region="420600",kind="dispatch"} 2')
    expect(text).toContain('tongban_deliveries{region="420600"} 5')
    expect(text).toContain('tongban_queue_jobs{queue="case.dispatch",state="waiting"} 4')
    expect(text).toContain('tongban_circuit_state{region="420600"} 2')
    expect(text).toContain('tongban_alert{kind="dead_letters"} 0')
    expect(text).toMatch(/process_cpu_seconds_total \d/)
  })

  it('a collector that fails leaves its series and the rest of the scrape alone', async () => {
    const metrics = new GatewayMetrics({
      evaluation: { gauges: () => Promise.reject(new Error('database away')) },
      queues: async () => [{ queue: 'case.dispatch', counts: { waiting: 1 }, oldestWaitingSeconds: 1 }],
      now: () => new Date(),
      logger: createLogger('silent'),
    })
    const text = await metrics.render()
    metrics.close()
    expect(text).toContain('tongban_queue_jobs{queue="case.dispatch",state="waiting"} 1')
    expect(text).toContain('# TYPE tongban_cases gauge')
  })
})
