/**
 * `npm run bench [-- NAME…]`: every benchmark measures its baseline in the same run and prints a ratio.
 * Scenarios: resolve (routing) and intake (authenticated case submission) against a hello-world;
 * deliveries (dispatch through sim and peer) against raw BullMQ; reports (the performance report over a
 * million cases) against count(*); crypto (ES256, EdDSA and SM2 signatures, and intake by an SM2 caller
 * beside an ES256 one). Run one with `npm run bench -- resolve`.
 */
import { cryptoBench } from './crypto.js'
import { deliveriesBench } from './deliveries.js'
import { intakeBench } from './intake.js'
import { reportsBench } from './reports.js'
import { resolveBench } from './resolve.js'

const scenarios: Record<string, () => Promise<void>> = {
  resolve: resolveBench,
  intake: intakeBench,
  deliveries: deliveriesBench,
  reports: reportsBench,
  crypto: cryptoBench,
}

// Names, then options for the benchmarks (`--cases 500`): an option and its value are not names.
const wanted = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'))
const names = wanted.length > 0 ? wanted : Object.keys(scenarios)
for (const name of names) {
  const run = scenarios[name]
  if (!run) {
    console.error(`unknown benchmark "${name}"; choose from ${Object.keys(scenarios).join(', ')}`)
    process.exit(2)
  }
  console.log(`\n## ${name}`)
  await run()
}
process.exit(0)
