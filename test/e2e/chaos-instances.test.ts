/**
 * Several instances under failure, short (`npm run chaos -- --only instances-failover --short`): three
 * instances of one gateway on a PostgreSQL and a Redis Sentinel set of this test's own, one instance killed
 * with SIGKILL mid-stream, then the Redis primary. Every accepted case is delivered once, nothing is
 * stranded, each scheduled run happens once per interval and each survivor is ready.
 */
import { describe, expect, it } from 'vitest'
import { missingTools } from '../chaos/infra.js'
import { formatOutcome, runMatrix, shortOptions } from '../chaos/run.js'

const missing = missingTools()
const scenario = 'instances-failover'

describe.skipIf(missing !== '')(`several instances under failure${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('loses, duplicates and strands nothing, runs scheduled work once per interval, and the survivors are ready', async () => {
    const [o] = await runMatrix([scenario], shortOptions, () => {})
    if (!o) throw new Error(`the ${scenario} scenario did not run`)
    const report = formatOutcome(o)
    console.log(report)
    expect(o.scenario).toBe(scenario)
    expect(o.submitted, report).toBe(shortOptions.cases)
    // Both faults struck mid-stream: the instance, then the Redis primary, each before the last case.
    expect(o.faultsAt?.length, report).toBe(2)
    for (const at of o.faultsAt ?? []) expect(at, report).toBeLessThan(shortOptions.cases)
    expect(
      {
        lost: o.lost,
        duplicated: o.duplicated,
        stranded: o.stranded,
        other5xx: o.unexpected5xx,
        scheduledTwice: o.scheduled?.duplicated,
        pollsBeyondOnePerInterval: o.polls?.duplicated,
        unpolled: o.polls?.unpolled,
        notReady: o.notReady,
      },
      report,
    ).toEqual({
      lost: 0,
      duplicated: 0,
      stranded: 0,
      other5xx: 0,
      scheduledTwice: 0,
      pollsBeyondOnePerInterval: 0,
      unpolled: 0,
      notReady: 0,
    })
    // The scheduled work went on without the killed instance.
    expect(o.scheduled?.sweepsAfterFault, report).toBeGreaterThan(0)
    expect(o.polls?.requests, report).toBeGreaterThan(0)
  }, 600_000)
})
