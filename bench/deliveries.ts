/**
 * Deliveries: cases per second that the `case.dispatch` workers hand to the processing side, through the
 * `sim` adapter (the simulator on loopback) and through `peer` to a second gateway (which itself hands
 * them to a simulator), beside the raw BullMQ job rate (no-op jobs, same concurrency) in the same run.
 * Cases are submitted first (through the API, 20 at a time); the rate is measured from the first
 * `dispatched` event to the last.
 */
import { Queue, Worker } from 'bullmq'
import { createSimApp } from '../adapters/sim/server.js'
import { hukouCertificate } from '../test/fixtures/cases.js'
import { type BenchGateway, cli, redisUrl, sql, startBenchGateway } from './lib/gateway.js'

const count = Number(process.env.BENCH_DELIVERIES ?? 600)
const concurrency = 8

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

async function api(
  gw: BenchGateway,
  token: string,
  method: string,
  p: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${gw.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  if (res.status >= 400) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`)
  return res.status === 204 ? undefined : ((await res.json()) as Record<string, unknown>)
}

async function submitAll(gw: BenchGateway, operator: string): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      for (;;) {
        const i = next++
        if (i >= count) return
        await api(gw, operator, 'POST', '/v1/cases', hukouCertificate({ externalRef: `B-${i}` }), {
          'idempotency-key': `b-${i}`,
        })
      }
    }),
  )
}

/** Cases per second between the first and the last `dispatched` event, once all are dispatched. */
async function deliveryRate(gw: BenchGateway): Promise<number> {
  for (let i = 0; i < 600; i++) {
    const [row] = await sql(
      gw.databaseUrl,
      `select count(*)::int as n, extract(epoch from max(at) - min(at)) * 1000 as ms from case_events where type = 'dispatched'`,
    )
    if (row.n >= count) return (row.n / Math.max(1, Number(row.ms))) * 1000
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error('deliveries did not finish in 150 s')
}

async function startSim(gatewayUrl: string, gatewayId: string) {
  // Slow callbacks: the measurement is about deliveries, not the simulator's answers.
  return createSimApp({ port: 0, simId: 'sim-420600', gatewayUrl, gatewayId, acceptDelayMs: 600_000 }).start()
}

export async function deliveriesBench(): Promise<void> {
  const raw = await rawBullmq()
  console.log(`raw BullMQ (no-op jobs, concurrency ${concurrency})  ${raw.toFixed(0).padStart(6)} jobs/s`)

  // 1. sim: one gateway delivering to the simulator.
  const a = await startBenchGateway('dlvsim', { GATEWAY_ID: 'gw-dlv-sim' })
  const sim = await startSim(a.url, 'gw-dlv-sim')
  try {
    const admin = await cli(['tokens', 'create', '--role', 'admin'], a.env)
    const operator = await cli(['tokens', 'create', '--role', 'operator', '--region', '420303', '--window', 'B'], a.env)
    await api(a, admin, 'PUT', '/v1/admin/bindings/420600', {
      adapter: 'sim',
      settings: { baseUrl: sim.url },
      concurrency: 8,
    })
    await submitAll(a, operator)
    const rate = await deliveryRate(a)
    console.log(
      `through sim      ${rate.toFixed(0).padStart(6)} cases/s  (ratio to raw BullMQ ${(rate / raw).toFixed(3)})`,
    )
  } finally {
    await sim.close()
    await a.cleanup()
  }

  // 2. peer: 十堰 gateway → 襄阳 gateway (which hands each case on to its simulator).
  const shiyan = await startBenchGateway('dlvsy', { GATEWAY_ID: 'gw-420300' })
  const xiangyang = await startBenchGateway('dlvxy', { GATEWAY_ID: 'gw-420600' })
  const sim2 = await startSim(xiangyang.url, 'gw-420600')
  try {
    const adminA = await cli(['tokens', 'create', '--role', 'admin'], shiyan.env)
    const adminB = await cli(['tokens', 'create', '--role', 'admin'], xiangyang.env)
    const operator = await cli(
      ['tokens', 'create', '--role', 'operator', '--region', '420303', '--window', 'B'],
      shiyan.env,
    )
    const jwks = await (await fetch(`${shiyan.url}/.well-known/jwks.json`)).json()
    await api(xiangyang, adminB, 'POST', '/v1/admin/clients', { id: 'gw-420300', regions: ['420300'], jwks })
    await api(xiangyang, adminB, 'PUT', '/v1/admin/bindings/420600', {
      adapter: 'sim',
      settings: { baseUrl: sim2.url },
    })
    await api(shiyan, adminA, 'PUT', '/v1/admin/bindings/420600', {
      adapter: 'peer',
      settings: { baseUrl: xiangyang.url, gatewayId: 'gw-420600', clientId: 'gw-420300', allowPrivateAddresses: true },
    })
    await submitAll(shiyan, operator)
    const rate = await deliveryRate(shiyan)
    console.log(
      `through peer     ${rate.toFixed(0).padStart(6)} cases/s  (ratio to raw BullMQ ${(rate / raw).toFixed(3)})`,
    )
  } finally {
    await sim2.close()
    await shiyan.cleanup()
    await xiangyang.cleanup()
  }
}
