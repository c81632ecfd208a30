/**
 * Deliveries: how fast the `case.dispatch` workers drain a backlog, through `sim` (the simulator on
 * loopback) and through `peer` to a second gateway, against baselines measured in the same run.
 *
 * - drain: N committed cases (default 2 000, `--cases N`) queued with the queue paused, then a `tongban
 *   worker` process started and the queue resumed; the rate from the first `dispatched` event to the last.
 *   For `peer` the receiving gateway is API-only (its own onward delivery paused), so it only takes intakes.
 * - baselines: raw BullMQ no-op jobs at the worker's concurrency, and the receiving gateway's own intake rate
 *   (the intake benchmark's load generator, 50 connections, against gateway B).
 * - latency: a steady 50 cases/s for 20 s into the sending gateway, p50/p99 from the case's commit to its
 *   `dispatched` event.
 * - CPU per delivery by process (/proc), and every case counted once on both sides.
 * The last line is one JSON object with the figures.
 */
import { readFileSync } from 'node:fs'
import { Queue, Worker } from 'bullmq'
import { diff, type Snapshot, snapshot } from './lib/cpu.js'
import { type BenchGateway, cli, redisUrl, sql, startBenchGateway } from './lib/gateway.js'
import { fmt, runLoad, type Server, startServer } from './lib/proc.js'
import { addClient, prepare, requestsFile, submitAll, submitAtRate } from './lib/submit.js'

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}

const count = Number(option('cases') ?? process.env.BENCH_DELIVERIES ?? 2000)
/** The sending worker's DISPATCH_CONCURRENCY (and the raw BullMQ baseline's); default the gateway's own default. */
const concurrency = Number(process.env.BENCH_DELIVERY_CONCURRENCY ?? 32)
const latencyRate = 50
const latencySeconds = Number(process.env.BENCH_LATENCY_SECONDS ?? 20)
const drainTimeoutMs = 300_000

async function rawBullmq(): Promise<number> {
  const prefix = `tbbench-raw-${process.pid}`
  const queue = new Queue('raw', { connection: { url: redisUrl }, prefix })
  await queue.addBulk(Array.from({ length: count }, (_, i) => ({ name: 'raw', data: { caseId: `c${i}` } })))
  let done = 0
  let first = 0
  let worker: Worker | undefined
  const ms = await new Promise<number>((resolve) => {
    worker = new Worker(
      'raw',
      async () => {
        if (first === 0) first = performance.now()
        done++
        if (done === count) resolve(performance.now() - first)
      },
      { connection: { url: redisUrl, maxRetriesPerRequest: null }, prefix, concurrency },
    )
  })
  await worker?.close()
  await queue.obliterate({ force: true })
  await queue.close()
  return (count / ms) * 1000
}

async function api(gw: BenchGateway, token: string, method: string, p: string, body?: unknown) {
  const res = await fetch(`${gw.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  if (res.status >= 400) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`)
  return res.status === 204 ? undefined : ((await res.json()) as Record<string, unknown>)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The gateway's `case.dispatch` queue, paused: the backlog builds up without a consumer. */
async function pausedQueue(gw: BenchGateway): Promise<Queue> {
  const queue = new Queue('case.dispatch', { connection: { url: redisUrl }, prefix: gw.prefix })
  await queue.pause()
  return queue
}

/** Waits until the outbox is relayed and `n` delivery jobs wait in the paused queue. */
async function waitQueued(gw: BenchGateway, queue: Queue, n: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const [row] = await sql(gw.databaseUrl, 'select count(*)::int as n from outbox')
    // (A paused queue keeps its jobs in the wait list since BullMQ 5.)
    if (row.n === 0 && (await queue.getWaitingCount()) >= n) return
    await sleep(200)
  }
  throw new Error(`the backlog of ${n} jobs was not queued in 60 s`)
}

/** A `tongban worker` process on the gateway's database and queues (the only consumer of its deliveries). */
function startWorkerProcess(gw: BenchGateway): Promise<Server> {
  return startServer(
    'src/cli.ts',
    ['worker'],
    { ...gw.env, QUEUE_CONCURRENCY: '8', DISPATCH_CONCURRENCY: String(concurrency), WORKER_HEALTH_PORT: '0' },
    /"healthPort":(\d+)[^\n]*"msg":"workers consuming"/,
  )
}

async function dispatchedCount(gw: BenchGateway): Promise<number> {
  return (await sql(gw.databaseUrl, `select count(*)::int as n from case_events where type = 'dispatched'`))[0].n
}

interface Drain {
  rate: number
  before: Snapshot
  after: Snapshot
  worker: Server
}

/** Starts the worker, resumes the queue, waits for `n` dispatched events; the rate first → last. */
async function drain(label: string, gw: BenchGateway, queue: Queue, n: number): Promise<Drain> {
  const worker = await startWorkerProcess(gw)
  const before = snapshot()
  await queue.resume()
  const started = performance.now()
  let done = 0
  let lastPrint = started
  while (done < n) {
    if (performance.now() - started > drainTimeoutMs) {
      throw new Error(`${label}: ${done} of ${n} dispatched after ${drainTimeoutMs / 1000} s`)
    }
    await sleep(250)
    done = await dispatchedCount(gw)
    if (performance.now() - lastPrint >= 2000) {
      lastPrint = performance.now()
      console.log(`  ${label}: ${done}/${n} dispatched after ${((lastPrint - started) / 1000).toFixed(0)} s`)
    }
  }
  const after = snapshot()
  const [row] = await sql(
    gw.databaseUrl,
    `select count(*)::int as n, extract(epoch from max(at) - min(at)) * 1000 as ms from case_events where type = 'dispatched'`,
  )
  return { rate: (row.n / Math.max(1, Number(row.ms))) * 1000, before, after, worker }
}

/** Dispatched events at the sender: cases never dispatched, and dispatched events beyond one per case. */
async function senderCounts(gw: BenchGateway, expected: number) {
  const [row] = await sql(
    gw.databaseUrl,
    `select count(*)::int as events, count(distinct case_id)::int as cases from case_events where type = 'dispatched'`,
  )
  return { lost: expected - row.cases, duplicated: row.events - row.cases }
}

/** CPU per delivery by process, as a line. */
function cpuLine(d: Drain, n: number, labels: Record<number, string>): string {
  const cpu = diff(d.before, d.after, (pid, comm) =>
    labels[pid] !== undefined
      ? (labels[pid] as string)
      : comm.startsWith('postgres')
        ? 'PostgreSQL'
        : comm.startsWith('redis')
          ? 'Redis'
          : null,
  )
  return [...cpu.entries()].map(([k, v]) => `${k} ${((v / n) * 1e6).toFixed(0)} µs`).join(', ')
}

async function simDrain(): Promise<{ rate: number; lost: number; duplicated: number }> {
  const gw = await startBenchGateway('dlvsim', { GATEWAY_ID: 'gw-dlv-sim', QUEUE_CONCURRENCY: '0' })
  // The simulator in its own process (its CPU apart); no callbacks within the run: the measurement is about
  // deliveries, not the simulator's answers.
  const sim = await startServer(
    'src/cli.ts',
    [
      ...['sim', '--port', '0', '--gateway-url', gw.url, '--gateway-id', 'gw-dlv-sim'],
      // No result JWS (the gateway attests): the sim's scrypt of the applicant's number per case is not ours.
      ...['--accept-delay', '600000', '--attest', 'gateway'],
    ],
    { LOG_LEVEL: 'warn' },
    /"url":"http:\/\/[^"]*:(\d+)"[^\n]*"msg":"sim listening"/,
  )
  let worker: Server | undefined
  try {
    const admin = await cli(['tokens', 'create', '--role', 'admin'], gw.env)
    await api(gw, admin, 'PUT', '/v1/admin/bindings/420600', { adapter: 'sim', settings: { baseUrl: sim.url } })
    const client = await addClient(gw, 'bench-client')
    const requests = await prepare(client, 'gw-dlv-sim', 0, count)
    const queue = await pausedQueue(gw)
    await submitAll(gw.url, requests)
    await waitQueued(gw, queue, count)
    console.log(`sim: ${count} cases committed and queued (queue paused); starting the worker`)
    const d = await drain('sim', gw, queue, count)
    worker = d.worker
    await queue.close()
    const sender = await senderCounts(gw, count)
    const stats = (await (await fetch(`${sim.url}/stats`)).json()) as { cases: number }
    const lost = Math.max(sender.lost, count - stats.cases)
    const duplicated = sender.duplicated + Math.max(0, stats.cases - count)
    const labels = {
      [worker.child.pid as number]: 'sender (worker)',
      [gw.child.pid as number]: 'sender API (idle)',
      [sim.child.pid as number]: 'simulator',
    }
    console.log(`  CPU per delivery: ${cpuLine(d, count, labels)}`)
    console.log(
      `  exactly once: ${count - sender.lost} cases dispatched once at the sender, ${stats.cases} cases at the simulator (lost ${lost}, duplicated ${duplicated})`,
    )
    return { rate: d.rate, lost, duplicated }
  } finally {
    await worker?.stop()
    await sim.stop()
    await gw.cleanup()
  }
}

interface PeerFigures {
  rate: number
  receiverIntake: number
  p50: number
  p99: number
  lost: number
  duplicated: number
}

async function peerDrain(): Promise<PeerFigures> {
  const a = await startBenchGateway('dlvsy', { GATEWAY_ID: 'gw-420300', QUEUE_CONCURRENCY: '0' })
  const b = await startBenchGateway('dlvxy', { GATEWAY_ID: 'gw-420600', QUEUE_CONCURRENCY: '0' })
  let worker: Server | undefined
  try {
    const adminA = await cli(['tokens', 'create', '--role', 'admin'], a.env)
    const adminB = await cli(['tokens', 'create', '--role', 'admin'], b.env)
    const jwks = await (await fetch(`${a.url}/.well-known/jwks.json`)).json()
    await api(b, adminB, 'POST', '/v1/admin/clients', { id: 'gw-420300', regions: ['420300'], jwks })
    await api(a, adminA, 'PUT', '/v1/admin/bindings/420600', {
      adapter: 'peer',
      settings: { baseUrl: b.url, gatewayId: 'gw-420600', clientId: 'gw-420300', allowPrivateAddresses: true },
    })

    // The receiver's own intake rate, with the intake benchmark's load (its cases are not counted below).
    const clientB = await addClient(b, 'bench-client')
    const loadRequests = await requestsFile(await prepare(clientB, 'gw-420600', 2_000_000, 10_000))
    const intake = await runLoad({
      url: b.url,
      connections: 50,
      durationMs: 5000,
      warmupMs: 1000,
      requestsFile: loadRequests.file,
    }).finally(() => loadRequests.remove())
    console.log(`receiver intake (gateway B, API only)  ${fmt(intake)}`)

    const clientA = await addClient(a, 'bench-client')
    const requests = await prepare(clientA, 'gw-420300', 0, count)
    const queue = await pausedQueue(a)
    await submitAll(a.url, requests)
    await waitQueued(a, queue, count)
    console.log(`peer: ${count} cases committed and queued at A (queue paused, B API-only); starting A's worker`)
    const d = await drain('peer', a, queue, count)
    worker = d.worker
    await queue.close()
    const labels = {
      [worker.child.pid as number]: 'sender (worker)',
      [a.child.pid as number]: 'sender API (idle)',
      [b.child.pid as number]: 'receiver',
    }
    console.log(`  CPU per delivery: ${cpuLine(d, count, labels)}`)

    // Latency: a steady rate into A while its worker runs.
    const n = latencyRate * latencySeconds
    const latencyRequests = await prepare(clientA, 'gw-420300', 1_000_000, n)
    const [{ t0 }] = await sql(a.databaseUrl, 'select now() as t0')
    console.log(`latency: ${latencyRate} cases/s for ${latencySeconds} s into A`)
    await submitAtRate(a.url, latencyRequests, latencyRate)
    for (let i = 0; ; i++) {
      const done = await dispatchedCount(a)
      if (done >= count + n) break
      // A machine slower than the rate drains a queue: wait for it (bounded), the percentiles then show the queue.
      if (i > 1200) throw new Error(`latency: ${done - count} of ${n} dispatched 300 s after the last submission`)
      await sleep(250)
    }
    const [lat] = await sql(
      a.databaseUrl,
      `select percentile_cont(0.5) within group (order by ms) as p50, percentile_cont(0.99) within group (order by ms) as p99
         from (select extract(epoch from e.at - c.created_at) * 1000 as ms
                 from cases c join case_events e on e.case_id = c.id and e.type = 'dispatched'
                where c.created_at >= $1) t`,
      [t0],
    )

    const total = count + n
    const sender = await senderCounts(a, total)
    const [recv] = await sql(
      b.databaseUrl,
      `select count(*)::int as cases, count(distinct external_ref)::int as refs from cases where created_by = 'gw-420300'`,
    )
    const lost = Math.max(sender.lost, total - recv.refs)
    const duplicated = sender.duplicated + (recv.cases - recv.refs)
    console.log(
      `  exactly once: ${total - sender.lost} of ${total} cases dispatched once at A, ${recv.refs} received at B in ${recv.cases} cases (lost ${lost}, duplicated ${duplicated})`,
    )
    return {
      rate: d.rate,
      receiverIntake: intake.rps,
      p50: Number(lat.p50),
      p99: Number(lat.p99),
      lost,
      duplicated,
    }
  } finally {
    await worker?.stop()
    await a.cleanup()
    await b.cleanup()
  }
}

export async function deliveriesBench(): Promise<void> {
  console.log(`${count} cases per drain, sending worker concurrency ${concurrency}; load ${loadavg()}`)
  const raw = await rawBullmq()
  console.log(`raw BullMQ (no-op jobs, concurrency ${concurrency})  ${raw.toFixed(0).padStart(6)} jobs/s`)
  const sim = await simDrain()
  console.log(
    `drain through sim   ${sim.rate.toFixed(0).padStart(6)} cases/s  (ratio to raw BullMQ ${(sim.rate / raw).toFixed(3)}; target ≥ ${Math.min(1000, raw * 0.2).toFixed(0)})`,
  )
  const peer = await peerDrain()
  console.log(
    `drain through peer  ${peer.rate.toFixed(0).padStart(6)} cases/s  (ratio to the receiver's intake ${(peer.rate / peer.receiverIntake).toFixed(3)}; target ≥ 0.4)`,
  )
  console.log(
    `latency through peer at ${latencyRate} cases/s: p50 ${peer.p50.toFixed(0)} ms, p99 ${peer.p99.toFixed(0)} ms (target p99 < 250 ms); load ${loadavg()}`,
  )
  const round = (x: number) => Math.round(x * 10) / 10
  console.log(
    JSON.stringify({
      drainSimPerS: round(sim.rate),
      drainPeerPerS: round(peer.rate),
      rawBullmqPerS: round(raw),
      receiverIntakePerS: round(peer.receiverIntake),
      latencyP50Ms: round(peer.p50),
      latencyP99Ms: round(peer.p99),
      lost: sim.lost + peer.lost,
      duplicated: sim.duplicated + peer.duplicated,
    }),
  )
}

function loadavg(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  } catch {
    return 'n/a'
  }
}
