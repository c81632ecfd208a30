/**
 * A closed-loop HTTP load generator, run as its own process so that it does not share the event
 * loop (or the CPU accounting) of the server under test. Reads a JSON job from argv[2]:
 * { url, connections, durationMs, warmupMs, requestsFile? | request }, where requestsFile holds one
 * JSON request per line ({ method, path, headers, body }) used once each (for per-request signatures).
 * Prints one JSON line: { requests, errors, statuses, rps, p50Ms, p99Ms, meanMs, preparedLeft, cpuSeconds },
 * cpuSeconds being this process's own CPU from the first request to the last, warm-up included (it starts
 * and ends between the caller's /proc snapshots, so they cannot see it).
 */
import { readFileSync } from 'node:fs'
import { Pool } from 'undici'

interface Req {
  method: string
  path: string
  headers?: Record<string, string>
  body?: string
}
interface Job {
  url: string
  connections: number
  durationMs: number
  warmupMs: number
  request?: Req
  requestsFile?: string
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job
const pool = new Pool(job.url, { connections: job.connections, pipelining: 1 })
const prepared: Req[] | undefined = job.requestsFile
  ? readFileSync(job.requestsFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Req)
  : undefined
let next = 0
const take = (): Req | undefined => (prepared ? prepared[next++] : job.request)

const latencies: number[] = []
const statuses: Record<string, number> = {}
let errors = 0
let measuring = false
let stop = false

async function loop() {
  for (;;) {
    if (stop) return
    const req = take()
    if (!req) return
    const started = performance.now()
    try {
      const res = await pool.request({
        method: req.method as 'GET',
        path: req.path,
        headers: req.headers,
        body: req.body,
      })
      await res.body.text()
      if (measuring) {
        latencies.push(performance.now() - started)
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
      }
    } catch {
      if (measuring) errors++
    }
  }
}

const cpuBefore = process.cpuUsage()
const workers = Array.from({ length: job.connections }, () => loop())
await new Promise((r) => setTimeout(r, job.warmupMs))
measuring = true
const started = performance.now()
await new Promise((r) => setTimeout(r, job.durationMs))
measuring = false
const elapsed = (performance.now() - started) / 1000
stop = true
await Promise.all(workers)
const cpu = process.cpuUsage(cpuBefore)
await pool.close()

latencies.sort((a, b) => a - b)
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0
const round = (n: number) => Math.round(n * 100) / 100
console.log(
  JSON.stringify({
    requests: latencies.length,
    errors,
    statuses,
    rps: round(latencies.length / elapsed),
    p50Ms: round(pct(50)),
    p99Ms: round(pct(99)),
    meanMs: round(latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length)),
    preparedLeft: prepared ? prepared.length - next : null,
    cpuSeconds: round((cpu.user + cpu.system) / 1e6),
  }),
)
