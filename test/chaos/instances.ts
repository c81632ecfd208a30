/**
 * Several instances under failure (issue 19, point 2): three `serve` processes of one gateway (十堰,
 * `gw-420300`) on one database, one queue prefix and one Redis set, the client spreading its requests over
 * them in turn. Cases go to 襄阳 through a `rest` binding to a legacy system in this process, which counts
 * the deliveries per case and the status polls. Mid-stream one instance is killed with SIGKILL and, on a
 * Sentinel set, the Redis primary too (its replica takes over). Then every accepted case must have been
 * delivered once and none stranded, each scheduled run must have happened once per interval (sweeps: the
 * BullMQ job schedulers' slots; polls: the legacy system's count per case) and each survivor's `/readyz`
 * must answer ready.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { Queue } from 'bullmq'
import { SCHEDULE_QUEUE } from '../../src/queue/catalog.js'
import { type Gateway, startGateway } from '../helpers/process.js'
import { Fleet, type Side } from './fleet.js'
import { freePort, type OwnPostgres, type RedisSet, until } from './infra.js'
import { LegacySystem } from './legacy.js'
import { emptyOutcome, type Outcome, type ScenarioOptions, submitAll } from './scenarios.js'
import type { FailoverRedisSet } from './sentinel.js'

const INSTANCES = 3
/** The legacy system's `pollIntervalSeconds` (the least the rest binding allows). */
const POLL_INTERVAL_MS = 5_000
const SECRET_ENV = 'CHAOS_LEGACY_SECRET'

interface Instance {
  name: string
  port: number
  gw?: Gateway
  /** What the process wrote, kept when it is gone. */
  output?: string
}

/** With `CHAOS_LOGS=DIR`, each instance's output goes to DIR/<scenario>-<instance>.log (to see why it failed). */
async function keepLogs(scenario: string, instances: Instance[]): Promise<void> {
  const dir = process.env.CHAOS_LOGS
  if (!dir) return
  await mkdir(dir, { recursive: true })
  for (const it of instances) await writeFile(path.join(dir, `${scenario}-${it.name}.log`), it.output ?? '')
}

/** Requests the client has in flight at once (submitAll's). */
const PARALLEL = 4

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms).unref())

function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {}
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** How many polls each case gets before they are counted (each one interval or more after the last). */
const POLLS_OBSERVED = 3

export async function runInstances(
  services: { pg: OwnPostgres; redis: RedisSet | FailoverRedisSet },
  opts: ScenarioOptions,
): Promise<Outcome> {
  const failover = 'failover' in services.redis ? services.redis : undefined
  const name = failover ? 'instances-failover' : 'instances'
  const started = Date.now()
  const outcome: Outcome & { faultsAt: number[] } = { ...emptyOutcome(name), faultsAt: [] }
  const fleet = new Fleet(services.pg, services.redis)
  const legacy = await LegacySystem.start()
  const instances: Instance[] = []
  try {
    const side = await fleet.side('gw-420300', { [SECRET_ENV]: 'chaos-legacy-secret' })
    for (let i = 0; i < INSTANCES; i++) instances.push({ name: `十堰-${i + 1}`, port: await freePort() })
    await Promise.all(
      instances.map(async (it) => {
        it.gw = await startGateway({ ...side.env, PORT: String(it.port) }, 120_000)
      }),
    )
    const urls = instances.map((it) => `http://127.0.0.1:${it.port}`)
    // Put on each instance: each drops its own cached binding list at once (the others' would age out).
    for (const url of urls) await bindLegacy(url, side, legacy.url)
    const operator = await fleet.operator(side)
    opts.log(`  ${name}: ${INSTANCES} instances, one killed with SIGKILL${failover ? ', then the Redis primary' : ''}`)

    const accepted = new Set<string>()
    // A fault strikes when a quarter (the instance) and half (the Redis primary) of the cases are accepted;
    // the cases from a few past each mark on wait until it struck, so that each strikes mid-stream.
    const marks = [Math.max(1, Math.floor(opts.cases / 4)), Math.max(2, Math.floor(opts.cases / 2))].slice(
      0,
      failover ? 2 : 1,
    )
    const reached = marks.map(signal)
    const struck = marks.map(signal)
    const hold = async (i: number) => {
      for (const [k, m] of marks.entries()) {
        // Bounded: a case never accepted would keep a mark from being reached.
        if (i >= m + PARALLEL) await Promise.race([struck[k]?.promise, pause(opts.settleMs)])
      }
    }
    const tag = `${name}-${started}`
    const submitting = submitAll(
      urls,
      operator,
      opts.cases,
      outcome,
      accepted,
      tag,
      (n) => {
        marks.forEach((m, k) => {
          if (n >= m) reached[k]?.resolve()
        })
      },
      hold,
    )
    // Raced with the submissions: should they end before a mark (cases refused), the fault strikes then.
    await Promise.race([reached[0]?.promise, submitting])
    const victim = instances[1] as Instance
    outcome.faultsAt.push(accepted.size)
    struck[0]?.resolve()
    await victim.gw?.stop('SIGKILL')
    victim.output = victim.gw?.output() ?? ''
    victim.gw = undefined
    let faultAt = Date.now()
    opts.log(`  ${name}: ${victim.name} killed after ${outcome.faultsAt[0]} accepted cases`)
    if (failover) {
      await Promise.race([reached[1]?.promise, submitting])
      outcome.faultsAt.push(accepted.size)
      struck[1]?.resolve()
      await failover.failover()
      faultAt = Date.now()
      opts.log(`  ${name}: Redis primary killed after ${outcome.faultsAt[1]} accepted cases; the replica took over`)
    }
    await submitting
    outcome.submitted = accepted.size

    let last = await count(services.pg, side, legacy, accepted)
    await until(
      'every accepted case delivered to the legacy system, and none left undispatched',
      async () => {
        last = await count(services.pg, side, legacy, accepted)
        return last.delivered >= accepted.size && last.stranded === 0
      },
      opts.settleMs,
    ).catch((e: Error) => outcome.notes.push(e.message))
    Object.assign(outcome, last)
    const resent = [...legacy.deliveries.values()].reduce((s, n) => s + n - 1, 0)
    if (resent > 0) outcome.notes.push(`${resent} deliveries sent again under the same key (answered as the first)`)

    // Enough poll rounds by the survivors for a second poller to show.
    await until(
      `${POLLS_OBSERVED} status polls of every delivered case`,
      async () =>
        legacy.polls.size >= Math.max(1, legacy.deliveries.size) &&
        [...legacy.polls.values()].every((p) => p.length >= POLLS_OBSERVED),
      POLL_INTERVAL_MS * (POLLS_OBSERVED + 4),
    ).catch((e: Error) => outcome.notes.push(e.message))
    outcome.polls = countPolls(legacy)
    outcome.scheduled = await countScheduled(services.redis, side.env.QUEUE_PREFIX as string, faultAt, outcome.notes)

    const survivors = instances.filter((it) => it.gw)
    outcome.notReady = 0
    for (const it of survivors) {
      const ready = await until(
        `${it.name} ready`,
        async () => (await fetch(`http://127.0.0.1:${it.port}/readyz`)).status === 200,
        30_000,
      ).catch(async (e: Error) => {
        const res = await fetch(`http://127.0.0.1:${it.port}/readyz`).catch(() => undefined)
        outcome.notes.push(`${e.message}: ${res ? `${res.status} ${await res.text()}` : 'no answer'}`)
        return false
      })
      if (!ready) outcome.notReady++
    }
  } finally {
    for (const it of instances) {
      await it.gw?.stop('SIGKILL')
      it.output = it.gw?.output() ?? it.output
    }
    await keepLogs(name, instances)
    await fleet.close()
    await legacy.close()
    outcome.seconds = Math.round((Date.now() - started) / 100) / 10
  }
  return outcome
}

async function bindLegacy(url: string, side: Side, legacyUrl: string): Promise<void> {
  const res = await fetch(`${url}/v1/admin/bindings/420600`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${side.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      adapter: 'rest',
      settings: {
        baseUrl: legacyUrl,
        appKey: 'tongban-420300',
        appSecretEnv: SECRET_ENV,
        pollIntervalSeconds: POLL_INTERVAL_MS / 1000,
        allowPrivateAddresses: true,
      },
    }),
  })
  if (res.status !== 200) throw new Error(`binding 420600 at ${url}: ${res.status} ${await res.text()}`)
}

interface Counts {
  delivered: number
  duplicated: number
  stranded: number
  lost: number
}

/**
 * Delivered: accepted cases the legacy system received. Duplicated: a second case for one submission, a
 * second `dispatched` event for one case. Stranded: still `submitted`, no dead letter.
 */
async function count(pg: OwnPostgres, side: Side, legacy: LegacySystem, accepted: Set<string>): Promise<Counts> {
  const [row] = await pg.query<{ twice: number; dispatchedTwice: number; stranded: number }>(
    side.database,
    `select
       (select coalesce(sum(n - 1), 0)::int from (select count(*) as n from cases group by external_ref) t) as twice,
       (select coalesce(sum(n - 1), 0)::int from (select count(*) as n from case_events where type = 'dispatched'
          group by case_id) t) as "dispatchedTwice",
       (select count(*)::int from cases c where c.status = 'submitted'
          and not exists (select 1 from dead_letters d where d.case_id = c.id)) as stranded`,
  )
  const delivered = [...accepted].filter((id) => legacy.deliveries.has(id)).length
  return {
    delivered,
    duplicated: (row?.twice ?? 0) + (row?.dispatchedTwice ?? 0),
    stranded: row?.stranded ?? 0,
    lost: accepted.size - delivered,
  }
}

/**
 * Polls of each case beyond one per interval: the turn of a binding is claimed for its interval, so two polls
 * of one case less than half an interval apart (the rest is room for a round slower than the one before)
 * mean a second poller.
 */
function countPolls(legacy: LegacySystem): NonNullable<Outcome['polls']> {
  let requests = 0
  let duplicated = 0
  for (const times of legacy.polls.values()) {
    requests += times.length
    for (let i = 1; i < times.length; i++) {
      if ((times[i] as number) - (times[i - 1] as number) < POLL_INTERVAL_MS / 2) duplicated++
    }
  }
  return { requests, duplicated, unpolled: legacy.deliveries.size - legacy.polls.size }
}

/**
 * The scheduled runs, from the schedule queue's event stream: each run is a job `repeat:<scheduler>:<slot>`,
 * counted under its scheduler's job name (two schedulers for one piece of work would both count there). A
 * run is a second one in an interval when its slot lies less than the interval after the one before it.
 */
async function countScheduled(
  redis: RedisSet,
  prefix: string,
  faultAt: number,
  notes: string[],
): Promise<NonNullable<Outcome['scheduled']>> {
  const client = redis.client()
  const queue = new Queue(SCHEDULE_QUEUE, { connection: client, prefix })
  queue.on('error', () => {})
  try {
    const schedulers = await queue.getJobSchedulers()
    const nameOf = new Map(schedulers.map((s) => [s.key, s.name]))
    const every = new Map(schedulers.map((s) => [s.name, Number(s.every ?? 0)]))
    const events = await client.xrange(`${prefix}:${SCHEDULE_QUEUE}:events`, '-', '+')
    const slots = new Map<string, number[]>()
    for (const [, fields] of events) {
      const f = new Map<string, string>()
      for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] as string, fields[i + 1] as string)
      const m = /^repeat:(.+):(\d+)$/.exec(f.get('jobId') ?? '')
      if (f.get('event') !== 'completed' || !m) continue
      const id = nameOf.get(m[1] as string) ?? (m[1] as string)
      slots.set(id, [...(slots.get(id) ?? []), Number(m[2])])
    }
    let runs = 0
    let duplicated = 0
    for (const [id, list] of slots) {
      const sorted = list.sort((a, b) => a - b)
      runs += sorted.length
      const interval = every.get(id) ?? 0
      for (let i = 1; i < sorted.length; i++) {
        const gap = (sorted[i] as number) - (sorted[i - 1] as number)
        if (gap < interval) {
          duplicated++
          notes.push(`${id}: runs for slots ${sorted[i - 1]} and ${sorted[i]}, ${gap} ms apart (every ${interval} ms)`)
        }
      }
    }
    const sweepsAfterFault = (slots.get('sweep') ?? []).filter((s) => s > faultAt).length
    return { runs, duplicated, sweepsAfterFault }
  } finally {
    await queue.close().catch(() => {})
    client.disconnect()
  }
}
