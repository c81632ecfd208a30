/**
 * The short fault matrix (`npm run chaos -- --short`): two federated gateways on a PostgreSQL and a Redis of
 * this test's own, each fault in turn; every accepted case arrives exactly once and nothing is stranded.
 */
import { describe, expect, it } from 'vitest'
import { missingTools } from '../chaos/infra.js'
import { formatOutcome, runMatrix, shortOptions } from '../chaos/run.js'
import { scenarios } from '../chaos/scenarios.js'

const missing = missingTools()

describe.skipIf(missing !== '')(`the fault matrix, short${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('loses, duplicates and strands nothing, and answers no 5xx but the documented 503', async () => {
    // The several-instances scenario has a file of its own (chaos-instances.test.ts).
    const outcomes = await runMatrix(
      scenarios.map((s) => s.name),
      shortOptions,
      () => {},
    )
    const report = outcomes.map(formatOutcome).join('\n')
    console.log(report)
    expect(outcomes.length).toBeGreaterThan(0)
    for (const o of outcomes) {
      expect(o.submitted, report).toBe(shortOptions.cases)
      expect(
        {
          scenario: o.scenario,
          lost: o.lost,
          duplicated: o.duplicated,
          stranded: o.stranded,
          other5xx: o.unexpected5xx,
        },
        report,
      ).toEqual({
        scenario: o.scenario,
        lost: 0,
        duplicated: 0,
        stranded: 0,
        other5xx: 0,
      })
    }
  }, 900_000)
})
