/**
 * Authenticated case intake: POST /v1/cases with a fresh signed assertion per request and a ~2 KB body,
 * 50 connections from a separate process, against a plain Hono hello-world measured in the same run.
 * Afterwards every accepted case must be committed and queued (counted in PostgreSQL and BullMQ).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Queue } from 'bullmq'
import { newClientKey, signAssertion } from '../test/helpers/client-assertion.js'
import { diff, snapshot } from './lib/cpu.js'
import { cli, redisUrl, sql, startBenchGateway } from './lib/gateway.js'
import { fmt, runLoad, startServer } from './lib/proc.js'

const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 8000)
const warmupMs = 2000

export function caseBody(i: number): string {
  const body = {
    externalRef: `BENCH-${i}`,
    item: 'hukou-certificate',
    mode: 'full_online',
    originRegion: '420303',
    processingRegion: '420600',
    applicant: {
      kind: 'person',
      name: '张三',
      idType: 'resident_id',
      idNumber: '42030319900307123X',
      phone: '13800138000',
    },
    form: {
      applicantName: '张三',
      applicantPhone: '13800138000',
      certificateType: '户籍证明',
      purpose: `办理子女入学，需开具户籍证明（第${i}号）。`.padEnd(200, '。'),
      mailingAddress: '湖北省十堰市张湾区车城路街道人民北路1号十堰市政务服务中心一楼跨省通办专窗'.padEnd(200, '号'),
    },
    materials: [
      {
        code: 'applicant-id-card',
        form: 'paper',
        name: '申请人居民身份证（原件核验，复印件一份，正反面复印在同一页A4纸上，由窗口工作人员核对后签字确认）',
      },
      { code: 'hukou-booklet', form: 'paper', name: '居民户口簿（户主页及本人页，原件核验后退还）' },
    ],
    delivery: { method: 'electronic' },
  }
  return JSON.stringify(body)
}

export async function intakeBench(): Promise<void> {
  const hello = await startServer('bench/lib/hello.ts', ['0'], {}, /"listening":(\d+)/)
  const gw = await startBenchGateway('intake', {
    WORKERS: process.env.BENCH_WORKERS ?? '1',
    // Node flags for the gateway alone (say, `--max-semi-space-size=32`), not for the baseline or the load.
    ...(process.env.BENCH_GATEWAY_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_GATEWAY_NODE_OPTIONS } : {}),
  })
  const dir = await mkdtemp(path.join(tmpdir(), 'tongban-bench-req-'))
  try {
    const key = await newClientKey('ES256')
    const jwksFile = path.join(dir, 'jwks.json')
    await writeFile(jwksFile, JSON.stringify(key.jwks))
    await cli(['clients', 'add', '--id', 'bench-client', '--regions', '420300', '--jwks', jwksFile], gw.env)

    // Enough requests for warm-up plus the run at well above the expected rate; each used once.
    const count = Number(process.env.BENCH_INTAKE_REQUESTS ?? 40_000)
    const lines: string[] = []
    const started = performance.now()
    for (let i = 0; i < count; i++) {
      const body = caseBody(i)
      const assertion = await signAssertion({
        clientId: 'bench-client',
        key,
        audience: 'gw-intake',
        method: 'POST',
        pathAndQuery: '/v1/cases',
        body,
        ttlSeconds: 300,
      })
      lines.push(
        JSON.stringify({
          method: 'POST',
          path: '/v1/cases',
          headers: {
            authorization: `Bearer ${assertion}`,
            'content-type': 'application/json',
            'idempotency-key': `bench-${i}`,
          },
          body,
        }),
      )
    }
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
    const before = snapshot()
    const intake = await runLoad({ url: gw.url, connections, durationMs, warmupMs, requestsFile: file })
    const after = snapshot()
    const used = count - (intake.preparedLeft ?? 0)

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

    // Where the CPU of the intake run (warm-up included) went, per accepted request.
    const served = used
    const gatewayPid = gw.child.pid
    const cpu = diff(before, after, (pid, comm) =>
      pid === gatewayPid || (comm === 'node' && gw.workerPids().includes(pid))
        ? 'gateway'
        : comm.startsWith('postgres')
          ? 'PostgreSQL'
          : comm.startsWith('redis')
            ? 'Redis'
            : comm === 'node' && pid !== hello.child.pid
              ? 'other node processes'
              : null,
    )
    cpu.set('load generator', intake.cpuSeconds)
    const perRequest = [...cpu.entries()].map(([k, v]) => `${k} ${((v / served) * 1e6).toFixed(0)} µs`).join(', ')
    console.log(`CPU per request (warm-up included): ${perRequest}`)
    console.log(`hello-world baseline  ${fmt(base)}`)
    console.log(`POST /v1/cases        ${fmt(intake)}`)
    console.log(
      `ratio intake/baseline: ${(intake.rps / base.rps).toFixed(3)} (req/s; target ≥ 0.10), p99 ${intake.p99Ms} ms (target < 50 ms)`,
    )
    console.log(
      `cases committed: ${cases}, jobs queued in case.dispatch: ${queued}, non-201 answers in the measured window: ${accepted < 0 ? 'n/a' : intake.requests - (intake.statuses['201'] ?? 0)}`,
    )
    if (cases !== queued) console.log('MISMATCH: a committed case is not queued')
  } finally {
    await rm(dir, { recursive: true, force: true })
    await gw.cleanup()
    await hello.stop()
  }
}
