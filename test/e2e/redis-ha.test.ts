/**
 * The gateway on a highly available Redis (issue 19): two federating gateways (十堰 and 襄阳, real
 * `tongban serve` processes) on a Sentinel set and on a three-node Redis Cluster of this file's own
 * (test/helpers/redis-ha.ts, ports 7400–7422), each running a real round: a case submitted at a 十堰 window
 * is delivered to 襄阳 through the peer adapter, reaches 襄阳's system, and its signed result comes back
 * and is recognised. On the Sentinel set the primary is then killed: the sentinels promote the replica, and
 * a case submitted meanwhile is accepted and makes the same round.
 * The whole federation suite runs against either topology too: docs/testing.md.
 */
import { spawnSync } from 'node:child_process'
import { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSimApp } from '../../adapters/sim/server.js'
import { hukouSpouse } from '../fixtures/cases.js'
import {
  bind,
  type Cleanups,
  call,
  runCleanups,
  type Side,
  startSide,
  tokenAt,
  typesOf,
} from '../helpers/federation.js'
import { stopAllGateways } from '../helpers/process.js'
import { type RedisTopology, type SentinelSet, startRedisCluster, startSentinelSet } from '../helpers/redis-ha.js'
import { waitFor } from '../helpers/wait.js'

const hasRedisTools = ['redis-server', 'redis-cli'].every((b) => spawnSync(b, ['--version']).status === 0)

interface Federation {
  shiyan: Side
  xiangyang: Side
  operator: string
}

/**
 * Points the test helpers (and so both gateways) at `topology` while the block runs, and starts 十堰, 襄阳
 * and 襄阳's simulated system, as the federation suite does.
 */
function onTopology<T extends RedisTopology>(start: () => Promise<T>) {
  const cleanups: Cleanups = []
  const state = {} as { topology: T; fed: Federation }
  const saved = { ...process.env }
  beforeAll(async () => {
    state.topology = await start()
    Object.assign(process.env, state.topology.testEnv)
    const [shiyan, xiangyang] = await Promise.all([startSide('gw-420300', cleanups), startSide('gw-420600', cleanups)])
    const sim = await createSimApp({
      port: 0,
      simId: 'sim-420600',
      gatewayUrl: xiangyang.gw.url,
      gatewayId: 'gw-420600',
      acceptDelayMs: 100,
      reviewDelayMs: 100,
      decideDelayMs: 100,
      receiveDelayMs: 100,
      retryInitialMs: 100,
    }).start()
    cleanups.push(() => sim.close())
    // As pairShiyanXiangyang, but the clients registered through the admin API: a CLI process each would
    // add a quarter of a minute apiece on a busy machine.
    await Promise.all([
      registerClient(xiangyang, 'gw-420300', `${shiyan.gw.url}/.well-known/jwks.json`, ['420300']),
      registerClient(shiyan, 'gw-420600', `${xiangyang.gw.url}/.well-known/jwks.json`, ['420600']),
      registerClient(xiangyang, 'sim-420600', `${sim.url}/.well-known/jwks.json`, ['420600']),
      registerClient(shiyan, 'sim-420600', `${sim.url}/.well-known/jwks.json`, ['420600']),
    ])
    const peer = { allowPrivateAddresses: true }
    await bind(shiyan, '420600', 'peer', {
      baseUrl: xiangyang.gw.url,
      gatewayId: 'gw-420600',
      clientId: 'gw-420300',
      ...peer,
    })
    await bind(xiangyang, '420300', 'peer', {
      baseUrl: shiyan.gw.url,
      gatewayId: 'gw-420300',
      clientId: 'gw-420600',
      ...peer,
    })
    await bind(xiangyang, '420600', 'sim', { baseUrl: sim.url })
    const operator = await tokenAt(shiyan, 'operator', '420303', 'ZW-HA-01', '李窗口')
    state.fed = { shiyan, xiangyang, operator }
  }, 240_000)
  afterAll(async () => {
    await stopAllGateways()
    // The queue prefixes are cleaned on the topology, before it stops.
    await runCleanups(cleanups)
    for (const k of Object.keys(state.topology?.testEnv ?? {})) {
      if (saved[k] === undefined) delete process.env[k]
      else process.env[k] = saved[k]
    }
    await state.topology?.stop()
  }, 60_000)
  return state
}

/** Registers a system client at `at` (admin API), its keys fetched from `jwksUrl`, acting for `regions`. */
async function registerClient(at: Side, id: string, jwksUrl: string, regions: string[]): Promise<void> {
  const jwks = await (await fetch(jwksUrl)).json()
  const res = await call(at, 'POST', '/v1/admin/clients', { id, regions, jwks })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
}

/** Submits an online_transfer case at 十堰 and waits for its result to be recognised there; returns its id. */
async function federationRound({ shiyan, xiangyang, operator }: Federation, ref: string): Promise<string> {
  const res = await call(shiyan, 'POST', '/v1/cases', hukouSpouse({ agent: undefined, externalRef: ref }), operator, {
    'idempotency-key': ref,
  })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  const id = res.body.case.id as string
  const done = await waitFor(
    `${ref} recognised at 十堰`,
    async () => {
      const t = await typesOf(shiyan, id, operator)
      return t.includes('recognized') ? t : false
    },
    90_000,
    250,
  )
  expect(done).toEqual(['submitted', 'dispatched', 'accepted', 'in_review', 'completed', 'recognized'])
  // Delivered once: 襄阳 holds one case for it.
  const theirs = (await call(xiangyang, 'GET', '/v1/cases?limit=200')).body.cases.filter(
    (c: { externalRef: string }) => c.externalRef === id,
  )
  expect(theirs).toHaveLength(1)
  return id
}

describe.skipIf(!hasRedisTools)('on a Sentinel set', () => {
  const on = onTopology<SentinelSet>(() => startSentinelSet(7400))

  it('a federation round: 十堰 → 襄阳 → its system, and the result back; the queues are on the primary', async () => {
    await federationRound(on.fed, 'ZW-HA-S1')
    const primary = new Redis({ host: '127.0.0.1', port: await on.topology.primaryPort(), lazyConnect: true })
    await primary.connect()
    try {
      const meta = await primary.exists(`${on.fed.shiyan.env.QUEUE_PREFIX}:case.dispatch:meta`)
      expect(meta, 'BullMQ keys of 十堰 on the Sentinel primary').toBe(1)
    } finally {
      primary.disconnect()
    }
  }, 150_000)

  it('the primary killed: the sentinels promote the replica, and intake and delivery go on', async () => {
    const before = await on.topology.primaryPort()
    const after = await on.topology.killPrimary()
    expect(after).not.toBe(before)
    // A case submitted right after the failover is taken (the outbox holds it if Redis is not back yet)
    // and makes the whole round on the new primary.
    await federationRound(on.fed, 'ZW-HA-S2')
    for (const side of [on.fed.shiyan, on.fed.xiangyang]) {
      const ready = await waitFor(`${side.env.GATEWAY_ID} ready again`, async () => {
        const r = await fetch(`${side.gw.url}/readyz`)
        return r.status === 200 ? r : false
      })
      expect(ready.status).toBe(200)
    }
  }, 150_000)
})

describe.skipIf(!hasRedisTools)('on a three-node Redis Cluster', () => {
  const on = onTopology(() => startRedisCluster(7420))

  it('a federation round, with every BullMQ key under the hash-tagged prefix', async () => {
    await federationRound(on.fed, 'ZW-HA-C1')
    const prefix = on.fed.shiyan.env.QUEUE_PREFIX as string
    const cluster = new Cluster([{ host: '127.0.0.1', port: 7420 }], { lazyConnect: true })
    await cluster.connect()
    try {
      expect(await cluster.exists(`{${prefix}}:case.dispatch:meta`), 'BullMQ keys under {prefix}').toBe(1)
      expect(await cluster.exists(`${prefix}:case.dispatch:meta`), 'no BullMQ key outside the hash tag').toBe(0)
    } finally {
      cluster.disconnect()
    }
  }, 150_000)
})
