/**
 * `npm run chaos`: the fault matrix on real processes, its own PostgreSQL and Redis on free loopback ports.
 * Prints one line per scenario (cases submitted, delivered, lost, duplicated, stranded, 5xx) and a JSON
 * line with all of them; exits 1 when any case was lost, duplicated or stranded, or a 5xx was not a
 * documented 503. `--short` runs fewer cases (CI runs the same through test/e2e/chaos.test.ts);
 * `--only NAME[,NAME]` picks scenarios; `instances` (instances.ts) runs three instances of one gateway,
 * `instances-failover` the same on a Redis Sentinel set whose primary is killed too (sentinel.ts).
 * `CHAOS_PORTS=LOW-HIGH` keeps every server the suite starts within those ports.
 */
import { parseArgs } from 'node:util'
import { missingTools, OwnPostgres, OwnRedis } from './infra.js'
import { runInstances } from './instances.js'
import { clean, type Outcome, runScenario, type ScenarioOptions, scenarios } from './scenarios.js'
import { startOwnSentinelSet } from './sentinel.js'

export const shortOptions: Omit<ScenarioOptions, 'log'> = { cases: 12, downMs: 4_000, settleMs: 90_000 }
export const fullOptions: Omit<ScenarioOptions, 'log'> = { cases: 120, downMs: 20_000, settleMs: 240_000 }

/** Runs the chosen scenarios one after another on one PostgreSQL and one Redis of the suite's own. */
export async function runMatrix(
  names: string[] | undefined,
  options: Omit<ScenarioOptions, 'log'>,
  log: (line: string) => void,
): Promise<Outcome[]> {
  const chosen = names ? scenarios.filter((s) => names.includes(s.name)) : scenarios
  const pg = await OwnPostgres.start()
  const redis = await OwnRedis.start()
  const outcomes: Outcome[] = []
  try {
    for (const s of chosen) outcomes.push(await runScenario(s, { pg, redis }, { ...options, log }))
    if (!names || names.includes('instances')) outcomes.push(await runInstances({ pg, redis }, { ...options, log }))
    if (!names || names.includes('instances-failover')) {
      const set = await startOwnSentinelSet()
      try {
        outcomes.push(await runInstances({ pg, redis: set }, { ...options, log }))
      } finally {
        await set.stop()
      }
    }
  } finally {
    await redis.stop()
    await pg.stop()
  }
  return outcomes
}

export function formatOutcome(o: Outcome): string {
  return (
    `${o.scenario.padEnd(26)} submitted ${String(o.submitted).padStart(4)}  delivered ${String(o.delivered).padStart(4)}` +
    `  lost ${o.lost}  duplicated ${o.duplicated}  stranded ${o.stranded}` +
    `  503 ${o.documented503}  other 5xx ${o.unexpected5xx}  refused ${o.connectionErrors}  unaccepted ${o.unaccepted}  ${o.seconds} s` +
    (o.scheduled
      ? `\n    scheduled runs ${o.scheduled.runs} (twice in an interval ${o.scheduled.duplicated}, sweeps after the fault ${o.scheduled.sweepsAfterFault})` +
        `  status polls ${o.polls?.requests ?? 0} (beyond one per interval ${o.polls?.duplicated ?? 0}, cases unpolled ${o.polls?.unpolled ?? 0})` +
        `  survivors not ready ${o.notReady ?? 0}  faults after ${o.faultsAt?.join(', ') ?? '-'} accepted`
      : '') +
    (o.notes.length ? `\n    ${o.notes.slice(0, 5).join('\n    ')}` : '')
  )
}

async function main() {
  const { values } = parseArgs({ options: { short: { type: 'boolean' }, only: { type: 'string' } } })
  const missing = missingTools()
  if (missing) {
    console.log(`chaos: cannot run here (${missing}); install redis-server and the PostgreSQL server binaries`)
    process.exit(2)
  }
  const options = values.short ? shortOptions : fullOptions
  const names = values.only?.split(',').map((n) => n.trim())
  console.log(`chaos: ${names?.join(', ') ?? 'every scenario'}, ${options.cases} cases each`)
  const outcomes = await runMatrix(names, options, (line) => console.log(line))
  console.log('')
  for (const o of outcomes) console.log(formatOutcome(o))
  console.log(JSON.stringify({ chaos: outcomes.map(({ notes, ...o }) => o) }))
  process.exit(outcomes.every(clean) ? 0 : 1)
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
