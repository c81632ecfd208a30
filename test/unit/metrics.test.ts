/** The gateway's alerts (logged when one appears or changes) and the metrics registry's exposition format. */
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logger.js'
import { GatewayMetrics, KEY_MAX_AGE_DAYS } from '../../src/services/metrics/gateway.js'
import { MetricsRegistry } from '../../src/services/metrics/registry.js'
import { waitFor } from '../helpers/wait.js'

describe('alerts', () => {
  function capture() {
    const lines: Record<string, unknown>[] = []
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)))
        done()
      },
    })
    return { lines, logger: createLogger('warn', sink) }
  }

  it('logs a warning when an alert appears or changes, not at every check', async () => {
    const { lines, logger } = capture()
    let overdue = 2
    let materials = 0
    const now = new Date('2026-10-09T00:00:00Z')
    const metrics = new GatewayMetrics({
      evaluation: {
        gauges: async () => ({
          byStatus: [],
          overdueOpen: overdue,
          materialsOverdueOpen: materials,
          resultsRefusedOpen: 0,
          openDeadLetters: [],
          deliveries: [],
        }),
      },
      circuits: async () => [{ region: '420600', state: 'closed', failures: 1 }],
      keyCreatedAt: new Date(now.getTime() - (KEY_MAX_AGE_DAYS - 10) * 86_400_000),
      now: () => now,
      logger,
    })
    expect(await metrics.checkAlerts()).toEqual({
      dead_letters: 0,
      open_circuits: 0,
      overdue_cases: 2,
      materials_overdue: 0,
      results_refused: 0,
      key_expiry: 1,
      stranded_cases: 0,
      signin_failures: 0,
      audit_off_hours: 0,
    })
    await metrics.checkAlerts()
    overdue = 3
    materials = 1
    await metrics.checkAlerts()
    metrics.close()
    const alertLines = () => lines.filter((l) => l.alert !== undefined)
    await waitFor('four alert lines written', () => alertLines().length >= 4)
    const alerts = alertLines().map((l) => [l.alert, l.count, l.level])
    expect(alerts).toEqual([
      ['overdue_cases', 2, 40],
      ['key_expiry', 1, 40],
      ['overdue_cases', 3, 40],
      ['materials_overdue', 1, 40],
    ])
    expect(await metrics.render()).toContain('tongban_alert_warnings_total{kind="overdue_cases"} 2')
    expect(await metrics.render()).toContain('tongban_alert{kind="materials_overdue"} 1')
  })
})

describe('MetricsRegistry', () => {
  it('renders the exposition format (prom-client): escaped labels, histogram buckets, sum and count', async () => {
    const r = new MetricsRegistry()
    r.counter('c_total', 'a counter', ['x']).inc({ x: 'a"b\\c\nd' }, 2)
    const h = r.histogram('h_seconds', 'a histogram', ['route'], [0.1, 1])
    h.observe({ route: '/a' }, 0.05)
    h.observe({ route: '/a' }, 0.5)
    const text = await r.render()
    expect(text).toBe(
      [
        '# HELP c_total a counter',
        '# TYPE c_total counter',
        'c_total{x="a\\"b\\\\c\\nd"} 2',
        '',
        '# HELP h_seconds a histogram',
        '# TYPE h_seconds histogram',
        'h_seconds_bucket{le="0.1",route="/a"} 1',
        'h_seconds_bucket{le="1",route="/a"} 2',
        'h_seconds_bucket{le="+Inf",route="/a"} 2',
        'h_seconds_sum{route="/a"} 0.55',
        'h_seconds_count{route="/a"} 2',
        '',
      ].join('\n'),
    )
  })

  it("shows each binding's deliveries in flight beside the delivered count", async () => {
    const inFlight = new Map([
      ['420600', 12],
      ['420300', 0],
    ])
    const metrics = new GatewayMetrics({
      evaluation: {
        gauges: async () => ({
          byStatus: [],
          overdueOpen: 0,
          materialsOverdueOpen: 0,
          resultsRefusedOpen: 0,
          openDeadLetters: [],
          deliveries: [],
        }),
      },
      inFlight: () => inFlight,
      now: () => new Date(),
      logger: createLogger('silent'),
    })
    metrics.observeDelivery('420600', 'delivered')
    const text = await metrics.render()
    expect(text).toContain('tongban_delivery_in_flight{region="420600"} 12')
    expect(text).toContain('tongban_delivery_in_flight{region="420300"} 0')
    expect(text).toContain('tongban_delivery_attempts_total{region="420600",result="delivered"} 1')
    inFlight.delete('420300')
    expect(await metrics.render()).not.toContain('tongban_delivery_in_flight{region="420300"}')
  })
})
