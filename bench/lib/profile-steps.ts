/**
 * Where a gateway's CPU profile (`BENCH_PROFILE_DIR=… npm run bench -- intake`) went, by intake step:
 * `tsx bench/lib/profile-steps.ts FILE.cpuprofile [requests]`. Each sample counts once, for the innermost step of
 * its stack (see `steps`); the last table is self time by package or source file. With `requests`, figures are µs per request. Samples before
 * the first request reached createCase (start-up) are left out.
 */
import { readFileSync } from 'node:fs'

interface Frame {
  functionName: string
  url: string
}
interface Node {
  id: number
  callFrame: Frame
  children?: number[]
}
interface Profile {
  nodes: Node[]
  samples: number[]
  timeDeltas: number[]
}

/**
 * Step → a test on one frame. A sample goes to the innermost frame of its stack that a step of tier 1 matches
 * (the gateway's own steps and the libraries they call by name), else to the innermost tier 2 match (the
 * generic layers: HTTP, the pg driver's socket side, JSON, GC), else to "other". So every sample counts once.
 */
const steps: [string, 1 | 2, (f: Frame) => boolean][] = [
  ['request context, wide-event log', 1, (f) => f.url.includes('middleware/request-context')],
  [
    'pino (logging)',
    1,
    (f) => /node_modules\/(pino|sonic-boom|pino-std-serializers|fast-redact|thread-stream)\//.test(f.url),
  ],
  [
    'metrics middleware, prom-client',
    1,
    (f) => f.url.includes('middleware/metrics') || f.url.includes('node_modules/prom-client'),
  ],
  ['security headers', 1, (f) => f.url.includes('middleware/security-headers')],
  ['body limit, media type (app.ts)', 1, (f) => f.url.endsWith('src/app.ts')],
  [
    'authenticate (auth.ts, caller)',
    1,
    (f) => f.url.includes('middleware/auth.ts') || f.url.includes('security/tokens'),
  ],
  ['assertion checks (assertion.ts)', 1, (f) => f.url.includes('security/assertion')],
  ['client look-up (cached)', 1, (f) => /client-keys|jwk-set|store\/client-store/.test(f.url)],
  ['ES256 verify', 1, (f) => f.functionName === 'verifyCompact'],
  ['body hash', 1, (f) => f.functionName === 'bodyDigest'],
  ['audit origin', 1, (f) => f.url.includes('middleware/audit')],
  [
    'rate limit middleware',
    1,
    (f) => f.url.includes('middleware/rate-limit') || f.url.includes('rate-limiter-flexible'),
  ],
  ['jsonText (NUL/surrogate check)', 1, (f) => f.url.includes('middleware/json-text')],
  ['zod validation', 1, (f) => f.url.includes('node_modules/zod') || f.url.includes('zod-openapi')],
  ['route handler', 1, (f) => f.url.includes('routes/cases/create')],
  ['createCase (own code)', 1, (f) => f.url.includes('services/cases/create')],
  ['route resolution', 1, (f) => /services\/directory|domain\/(checklist|calendar|scope)/.test(f.url)],
  ['checks (applicant, materials, form)', 1, (f) => /domain\/(identity|form)/.test(f.url)],
  ['sealing (vault: encrypt, lookup hash)', 1, (f) => f.url.includes('security/pii') || f.url.includes('sealed-form')],
  [
    'signatures (receipt + event proof)',
    1,
    (f) => f.functionName === 'signCompact' || f.url.includes('event-proofs') || f.url.includes('security/keys'),
  ],
  ['event hash (chain)', 1, (f) => f.url.includes('hash-chain')],
  ['case view', 1, (f) => f.url.includes('services/cases/view')],
  ['case number (allocateNumber)', 1, (f) => f.functionName === 'allocateNumber'],
  ['externalRef look-up', 1, (f) => f.functionName === 'findByExternalRef' || f.functionName === 'answerByExternalRef'],
  ['intake statement (client side)', 1, (f) => f.url.includes('store/intake') || f.url.includes('case-row')],
  [
    'outbox relay, queue',
    1,
    (f) => /relay|outbox|src\/queue\//.test(f.url) || /node_modules\/(bullmq|ioredis)\//.test(f.url),
  ],
  ['drizzle', 1, (f) => f.url.includes('node_modules/drizzle-orm')],
  ['pg driver (socket, parsing)', 2, (f) => /node_modules\/(pg|pg-protocol|pg-pool|pg-types)\//.test(f.url)],
  [
    'hono, node-server, HTTP',
    2,
    (f) => /node_modules\/(hono|@hono)\/|node:_http|node:internal\/(http|streams)|node:net/.test(f.url),
  ],
  ['JSON.parse/stringify', 2, (f) => f.functionName === 'parse' || f.functionName === 'stringify'],
  ['(garbage collector)', 2, (f) => f.functionName === '(garbage collector)'],
  ['(program)', 2, (f) => f.functionName === '(program)'],
  ['(idle)', 2, (f) => f.functionName === '(idle)'],
]

const [file, requestsArg] = process.argv.slice(2)
if (!file) {
  console.error('usage: tsx bench/lib/profile-steps.ts FILE.cpuprofile [requests]')
  process.exit(2)
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

const inclusive = new Map<string, number>()
const self = new Map<string, number>()
let total = 0
let busy = 0
// Start-up (module loading) is not intake: samples count from the first one inside createCase.
let started = false
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0
  const leaf = byId.get(id)
  if (!leaf) return
  if (!started) {
    for (let n: Node | undefined = leaf; n && !started; n = byId.get(parent.get(n.id) ?? -1)) {
      started = n.callFrame.functionName === 'createCase'
    }
    if (!started) return
  }
  total += dt
  if (leaf.callFrame.functionName !== '(idle)') busy += dt
  const where = leaf.callFrame.url
    ? (/node_modules\/((@[^/]+\/)?[^/]+)/.exec(leaf.callFrame.url)?.[1] ??
      leaf.callFrame.url.replace(/^.*\/(src|adapters|config)\//, '$1/'))
    : leaf.callFrame.functionName || '(anonymous native)'
  self.set(where, (self.get(where) ?? 0) + dt)
  let first: string | undefined
  let generic: string | undefined
  for (let n: Node | undefined = leaf; n && !first; n = byId.get(parent.get(n.id) ?? -1)) {
    for (const [name, tier, test] of steps) {
      if (!test(n.callFrame)) continue
      if (tier === 1) first = name
      else generic ??= name
      break
    }
  }
  const step = first ?? generic ?? 'other'
  inclusive.set(step, (inclusive.get(step) ?? 0) + dt)
})

const requests = Number(requestsArg ?? 0)
const show = (us: number) =>
  requests > 0 ? `${(us / requests).toFixed(0).padStart(6)} µs/req` : `${(us / 1000).toFixed(0).padStart(7)} ms`
const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`
console.log(
  `profile ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s${requests ? `, ${requests} requests` : ''}`,
)
console.log('\n| step | time | share of busy |\n| --- | ---: | ---: |')
for (const name of [...steps.map(([n]) => n), 'other']) {
  const us = inclusive.get(name) ?? 0
  console.log(`| ${name} | ${show(us)} | ${pct(us)} |`)
}
console.log('\n| self time by package / file | time | share of busy |\n| --- | ---: | ---: |')
for (const [name, us] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
  console.log(`| ${name} | ${show(us)} | ${pct(us)} |`)
}
