/**
 * Authenticated case intake: POST /v1/cases with a fresh signed assertion per request and a ~2 KB body,
 * 50 connections from a separate process, against the naive intake (bench/lib/naive-intake.ts: verify, validate,
 * one row, one job, one receipt) fed the same prepared requests by the same load generator in the same run, and a
 * plain Hono hello-world for scale. Afterwards every accepted case must be committed and queued (counted in
 * PostgreSQL and BullMQ). The last line is JSON: intakePerS, naiveIntakePerS, intakeP99Ms and the CPU figures.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Queue } from 'bullmq'
import { newClientKey } from '../test/helpers/client-assertion.js'
import { diff, postmasterOf, snapshot } from './lib/cpu.js'
import { cli, redisUrl, sql, startBenchGateway } from './lib/gateway.js'
import { fmt, type LoadResult, runLoad, type Server, startServer } from './lib/proc.js'
import { caseBody, prepare } from './lib/submit.js'

const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 8000)
const warmupMs = 2000

type Cpu = Map<string, number>

/** Runs the prepared requests against `server` and returns the load result with CPU per request (µs) by process. */
async function measured(
  url: string,
  file: string,
  count: number,
  label: (pid: number, comm: string, ppid: number) => string | null,
): Promise<{ load: LoadResult; cpuUs: Cpu; used: number }> {
  const before = snapshot()
  const load = await runLoad({ url, connections, durationMs, warmupMs, requestsFile: file })
  const after = snapshot()
  const used = count - (load.preparedLeft ?? 0)
  const cpu = diff(before, after, label)
  cpu.set('load generator', load.cpuSeconds)
  const cpuUs: Cpu = new Map([...cpu.entries()].map(([k, v]) => [k, Math.round((v / used) * 1e6)]))
  return { load, cpuUs, used }
}

const cpuLine = (cpu: Cpu) => [...cpu.entries()].map(([k, v]) => `${k} ${v} µs`).join(', ')

export async function intakeBench(): Promise<void> {
  const hello = await startServer('bench/lib/hello.ts', ['0'], {}, /"listening":(\d+)/)
  const gw = await startBenchGateway('intake', {
    WORKERS: process.env.BENCH_WORKERS ?? '1',
    // API only, as the naive intake: nobody delivers its jobs either (BENCH_QUEUE_CONCURRENCY=8 adds the workers).
    QUEUE_CONCURRENCY: process.env.BENCH_QUEUE_CONCURRENCY ?? '0',
    // Node flags for the gateway alone (say, `--max-semi-space-size=32`), not for the baseline or the load.
    ...(process.env.BENCH_GATEWAY_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_GATEWAY_NODE_OPTIONS } : {}),
  })
  let naive: Server | undefined
  const dir = await mkdtemp(path.join(tmpdir(), 'tongban-bench-req-'))
  try {
    const key = await newClientKey('ES256')
    const jwksFile = path.join(dir, 'jwks.json')
    await writeFile(jwksFile, JSON.stringify(key.jwks))
    await cli(['clients', 'add', '--id', 'bench-client', '--regions', '420300', '--jwks', jwksFile], gw.env)
    // The naive intake on the gateway's own database (its own table) and Redis (its own queue under the prefix).
    naive = await startServer(
      'bench/lib/naive-intake.ts',
      [
        JSON.stringify({
          databaseUrl: gw.databaseUrl,
          redisUrl,
          prefix: gw.prefix,
          audience: 'gw-intake',
          jwks: key.jwks,
        }),
      ],
      {},
      /"listening":(\d+)/,
    )

    // Enough requests for warm-up plus the run at well above the expected rate; each used once per server.
    const count = Number(process.env.BENCH_INTAKE_REQUESTS ?? 40_000)
    const started = performance.now()
    const prepared = await prepare({ id: 'bench-client', key }, 'gw-intake', 0, count)
    const lines = prepared.map((r) => JSON.stringify(r))
    const file = path.join(dir, 'requests.jsonl')
    await writeFile(file, `${lines.join('\n')}\n`)
    console.log(
      `prepared ${count} signed requests (${Buffer.byteLength(caseBody(0))} B bodies) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    )

    const base = await runLoad({
      url: hello.url,
      connections,
      durationMs,
      warmupMs,
      request: { method: 'GET', path: '/' },
    })
    // Only the database server the gateway uses (its postmaster and backends): other users' servers on a shared
    // machine would inflate the figure.
    const [checkpointer] = await sql(
      gw.databaseUrl,
      "select pid from pg_stat_activity where backend_type = 'checkpointer'",
    )
    const postmaster = checkpointer ? postmasterOf(Number(checkpointer.pid)) : null
    const isPostgres = (pid: number, comm: string, ppid: number) =>
      comm.startsWith('postgres') && (postmaster === null || pid === postmaster || ppid === postmaster)
    const naivePid = naive.child.pid
    const naiveRun = await measured(naive.url, file, count, (pid, comm, ppid) =>
      pid === naivePid
        ? 'naive server'
        : isPostgres(pid, comm, ppid)
          ? 'PostgreSQL'
          : comm.startsWith('redis')
            ? 'Redis'
            : null,
    )
    await naive.stop()
    naive = undefined

    const gatewayPid = gw.child.pid
    const gwRun = await measured(gw.url, file, count, (pid, comm, ppid) =>
      pid === gatewayPid || (comm === 'node' && gw.workerPids().includes(pid))
        ? 'gateway'
        : isPostgres(pid, comm, ppid)
          ? 'PostgreSQL'
          : comm.startsWith('redis')
            ? 'Redis'
            : comm === 'node' && pid !== hello.child.pid
              ? 'other node processes'
              : null,
    )
    const intake = gwRun.load
    const used = gwRun.used

    // Every accepted case committed and queued: wait for the relay, then count.
    const accepted =
      used - intake.errors - Object.entries(intake.statuses).reduce((n, [s, k]) => (s === '201' ? n : n + k), 0)
    const queue = new Queue('case.dispatch', { connection: { url: redisUrl }, prefix: gw.prefix })
    let queued = 0
    let cases = 0
    for (let i = 0; i < 100; i++) {
      cases = (await sql(gw.databaseUrl, 'select count(*)::int as n from cases'))[0].n
      const pending = (await sql(gw.databaseUrl, 'select count(*)::int as n from outbox'))[0].n
      const counts = await queue.getJobCounts('waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized')
      queued = Object.values(counts).reduce((a, b) => a + b, 0)
      if (pending === 0 && queued === cases) break
      await new Promise((r) => setTimeout(r, 200))
    }
    await queue.close()

    const ratio = intake.rps / naiveRun.load.rps
    console.log(`CPU per request, naive intake (warm-up included): ${cpuLine(naiveRun.cpuUs)}`)
    console.log(`CPU per request, POST /v1/cases (warm-up included): ${cpuLine(gwRun.cpuUs)}`)
    console.log(`hello-world baseline  ${fmt(base)}`)
    console.log(`naive intake          ${fmt(naiveRun.load)}`)
    console.log(`POST /v1/cases        ${fmt(intake)}`)
    console.log(
      `ratio intake/naive intake: ${ratio.toFixed(3)} (req/s; target ≥ 0.7), p99 ${intake.p99Ms} ms (target < 50 ms); ` +
        `intake/hello-world ${(intake.rps / base.rps).toFixed(3)}`,
    )
    console.log(
      `cases committed: ${cases}, jobs queued in case.dispatch: ${queued}, non-201 answers in the measured window: ${accepted < 0 ? 'n/a' : intake.requests - (intake.statuses['201'] ?? 0)}`,
    )
    if (cases !== queued) console.log('MISMATCH: a committed case is not queued')
    console.log(
      JSON.stringify({
        intakePerS: intake.rps,
        naiveIntakePerS: naiveRun.load.rps,
        ratio: Math.round(ratio * 1000) / 1000,
        intakeP99Ms: intake.p99Ms,
        naiveP99Ms: naiveRun.load.p99Ms,
        helloPerS: base.rps,
        gatewayCpuUs: gwRun.cpuUs.get('gateway') ?? null,
        gatewayPgCpuUs: gwRun.cpuUs.get('PostgreSQL') ?? null,
        naiveCpuUs: naiveRun.cpuUs.get('naive server') ?? null,
        naivePgCpuUs: naiveRun.cpuUs.get('PostgreSQL') ?? null,
        casesCommitted: cases,
        jobsQueued: queued,
        loadAvg: (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' '),
      }),
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
    await naive?.stop()
    await gw.cleanup()
    await hello.stop()
  }
}
