/**
 * The fault matrix: each scenario starts two fresh federated gateways on the suite's own PostgreSQL and
 * Redis, submits cases at the 十堰 window while one fault strikes, lets the system recover by itself, and
 * counts on both sides what became of every accepted case.
 */
import { hukouCertificate } from '../fixtures/cases.js'
import { Fleet, type Side } from './fleet.js'
import { type OwnPostgres, type OwnRedis, until } from './infra.js'

export interface Outcome {
  scenario: string
  submitted: number
  delivered: number
  lost: number
  duplicated: number
  stranded: number
  /** 503 answers that carried `Retry-After` (the documented answer of a gateway that cannot commit now). */
  documented503: number
  /** Any other 5xx, or a 503 without `Retry-After`: each is a defect. */
  unexpected5xx: number
  /** Connections refused or reset while a gateway process was down (the client retries). */
  connectionErrors: number
  /** 429 answers (the client waits `Retry-After` and tries again). */
  rateLimited: number
  /** Cases the client could not get accepted (refused, or still answered 409/5xx after two minutes). */
  unaccepted: number
  seconds: number
  notes: string[]
  /**
   * Several instances (instances.ts): scheduled runs seen (BullMQ job scheduler slots completed), those that
   * were a second run within one interval, and the sweeps after the last fault (0: the sweep stopped).
   */
  scheduled?: { runs: number; duplicated: number; sweepsAfterFault: number }
  /** Several instances: status polls at the legacy system, polls beyond one per interval, cases never polled. */
  polls?: { requests: number; duplicated: number; unpolled: number }
  /** Several instances: the cases accepted when each fault struck (the instance killed, the Redis primary). */
  faultsAt?: number[]
  /** Several instances: surviving instances whose `/readyz` did not answer ready. */
  notReady?: number
}

export interface ScenarioOptions {
  /** Cases submitted per scenario. */
  cases: number
  /** How long the receiver stays down where a scenario takes it down. */
  downMs: number
  /** How long every accepted case has to arrive after the fault is over. */
  settleMs: number
  log: (line: string) => void
}

interface Services {
  pg: OwnPostgres
  redis: OwnRedis
}

type Fault = (ctx: {
  fleet: Fleet
  shiyan: Side
  xiangyang: Side
  services: Services
  opts: ScenarioOptions
}) => Promise<void>

interface Scenario {
  name: string
  what: string
  /** Deliveries by separate `tongban worker` processes (an API-only 十堰). */
  separateWorkers?: boolean
  fault: Fault
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

export const scenarios: Scenario[] = [
  {
    name: 'redis-kill',
    what: 'Redis killed with SIGKILL while cases flow, started again at once',
    fault: async ({ services }) => {
      await services.redis.kill()
      await services.redis.launch()
    },
  },
  {
    name: 'redis-kill-receiver-down',
    what: 'the receiving gateway killed, then Redis killed; Redis back, then the receiver',
    fault: async ({ fleet, xiangyang, services, opts }) => {
      await fleet.kill(xiangyang)
      await services.redis.kill()
      await services.redis.launch()
      await pause(opts.downMs)
      await fleet.start(xiangyang)
    },
  },
  {
    name: 'postgres-restart',
    what: 'PostgreSQL stopped in immediate mode (every backend killed) and started again',
    fault: async ({ services }) => {
      await services.pg.crash()
      await pause(1000)
      await services.pg.launch()
    },
  },
  {
    name: 'worker-kill',
    what: 'the delivering `tongban worker` killed with SIGKILL mid-delivery; a new one started',
    separateWorkers: true,
    fault: async ({ fleet, shiyan }) => {
      const [worker] = shiyan.workers
      if (worker) await fleet.killWorker(worker)
      fleet.startWorker(shiyan)
    },
  },
  {
    name: 'receiver-down',
    what: 'the receiving gateway killed with SIGKILL, back after a while',
    fault: async ({ fleet, xiangyang, opts }) => {
      await fleet.kill(xiangyang)
      await pause(opts.downMs)
      await fleet.start(xiangyang)
    },
  },
  {
    name: 'api-kill-redis-frozen',
    what: 'Redis frozen (SIGSTOP), the 十堰 API killed with SIGKILL after committing, Redis thawed, the API started again',
    fault: async ({ fleet, shiyan, services }) => {
      services.redis.freeze()
      await pause(1500)
      await fleet.kill(shiyan)
      services.redis.thaw()
      await fleet.start(shiyan)
    },
  },
]

/**
 * Submits `n` cases, each retried with the same Idempotency-Key until accepted; `onAccepted` after each.
 * Each attempt goes to the next of `urls` in turn (a client spreading its requests over several instances).
 */
export async function submitAll(
  urls: readonly string[],
  token: string,
  n: number,
  tally: Outcome,
  accepted: Set<string>,
  tag: string,
  onAccepted: (count: number) => void,
  /** Awaited before case `i` is first sent (a scenario holds the later cases back until its fault struck). */
  hold: (i: number) => Promise<void> = async () => {},
): Promise<void> {
  let next = 0
  let turn = 0
  const worker = async () => {
    for (;;) {
      const i = next++
      if (i >= n) return
      await hold(i)
      const end = Date.now() + 120_000
      let last = ''
      for (;;) {
        if (Date.now() > end) {
          tally.notes.push(`case ${i} not accepted within 120 s; last answer: ${last}`)
          tally.unaccepted++
          break
        }
        try {
          const res = await fetch(`${urls[turn++ % urls.length]}/v1/cases`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${token}`,
              'content-type': 'application/json',
              'idempotency-key': `${tag}-${i}`,
            },
            body: JSON.stringify(hukouCertificate({ externalRef: `${tag}-${i}` })),
            signal: AbortSignal.timeout(30_000),
          })
          const text = await res.text()
          last = `${res.status} ${text.slice(0, 200)}`
          if (res.status === 201 || res.status === 200) {
            accepted.add((JSON.parse(text) as { case: { id: string } }).case.id)
            onAccepted(accepted.size)
            break
          }
          // A client that honours Retry-After (capped, so the suite stays short).
          const retryAfter = Number(res.headers.get('retry-after') ?? 0)
          if (retryAfter > 0) await pause(Math.min(retryAfter, 5) * 1000)
          if (res.status === 503 && retryAfter > 0) tally.documented503++
          else if (res.status === 429) tally.rateLimited++
          else if (res.status >= 500) {
            tally.unexpected5xx++
            tally.notes.push(last)
          } else if (res.status !== 409) {
            tally.notes.push(`case ${i} refused: ${last}`)
            tally.unaccepted++
            break
          }
        } catch (error) {
          last = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
          tally.connectionErrors++
        }
        await pause(250)
      }
    }
  }
  await Promise.all([worker(), worker(), worker(), worker()])
}

interface Counts {
  delivered: number
  duplicated: number
  stranded: number
  lost: number
}

async function count(pg: OwnPostgres, shiyan: Side, xiangyang: Side, accepted: Set<string>): Promise<Counts> {
  const atB = await pg.query<{ ref: string; n: number }>(
    xiangyang.database,
    "select external_ref as ref, count(*)::int as n from cases where created_by = 'gw-420300' group by external_ref",
  )
  const remote = new Map(atB.map((r) => [r.ref, r.n]))
  const dispatched = await pg.query<{ id: string; n: number }>(
    shiyan.database,
    "select case_id::text as id, count(*)::int as n from case_events where type = 'dispatched' group by case_id",
  )
  const twiceAtA = await pg.query<{ n: number }>(
    shiyan.database,
    'select coalesce(sum(n - 1), 0)::int as n from (select count(*) as n from cases group by external_ref) t',
  )
  // Not final, not dispatched, no dead letter: nothing will move the case on by itself.
  const stranded = await pg.query<{ n: number }>(
    shiyan.database,
    `select count(*)::int as n from cases c
      where c.status = 'submitted'
        and not exists (select 1 from dead_letters d where d.case_id = c.id)`,
  )
  let delivered = 0
  let duplicated = (twiceAtA[0]?.n ?? 0) + dispatched.reduce((s, r) => s + (r.n - 1), 0)
  for (const [ref, n] of remote) {
    if (accepted.has(ref)) delivered++
    duplicated += n - 1
  }
  return { delivered, duplicated, stranded: stranded[0]?.n ?? 0, lost: accepted.size - delivered }
}

/** An outcome with nothing counted yet. */
export function emptyOutcome(scenario: string): Outcome {
  return {
    scenario,
    submitted: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    stranded: 0,
    documented503: 0,
    unexpected5xx: 0,
    connectionErrors: 0,
    rateLimited: 0,
    unaccepted: 0,
    seconds: 0,
    notes: [],
  }
}

export async function runScenario(s: Scenario, services: Services, opts: ScenarioOptions): Promise<Outcome> {
  const started = Date.now()
  const outcome = emptyOutcome(s.name)
  const fleet = new Fleet(services.pg, services.redis)
  try {
    // With separate workers, 十堰's `serve` is API-only and a `tongban worker` process delivers.
    const shiyan = await fleet.side('gw-420300', s.separateWorkers ? { QUEUE_CONCURRENCY: '0' } : {})
    const xiangyang = await fleet.side('gw-420600')
    await fleet.start(shiyan)
    if (s.separateWorkers) fleet.startWorker(shiyan)
    await fleet.start(xiangyang)
    await fleet.pair(shiyan, xiangyang)
    const operator = await fleet.operator(shiyan)
    opts.log(`  ${s.name}: ${s.what}`)

    const accepted = new Set<string>()
    let strike: () => void = () => {}
    const third = new Promise<void>((resolve) => {
      strike = resolve
    })
    const threshold = Math.max(1, Math.floor(opts.cases / 3))
    const submitting = submitAll([shiyan.url], operator, opts.cases, outcome, accepted, `${s.name}-${started}`, (n) => {
      if (n >= threshold) strike()
    })
    await third
    await s.fault({ fleet, shiyan, xiangyang, services, opts })
    opts.log(`  ${s.name}: fault over after ${accepted.size} accepted cases`)
    await submitting
    outcome.submitted = accepted.size
    let last: Counts = { delivered: 0, duplicated: 0, stranded: 0, lost: accepted.size }
    // Settled when every accepted case arrived and no case at 十堰 waits undispatched: a case committed while
    // its caller saw an error (a 503 mid-restart) is dispatched by the next sweep, so it is stranded only if
    // it is still waiting when the settle time is over.
    await until(
      'every accepted case to arrive at 襄阳, and none left undispatched at 十堰',
      async () => {
        last = await count(services.pg, shiyan, xiangyang, accepted)
        return last.delivered >= accepted.size && last.stranded === 0
      },
      opts.settleMs,
    ).catch((e: Error) => outcome.notes.push(e.message))
    Object.assign(outcome, await count(services.pg, shiyan, xiangyang, accepted))
  } finally {
    await fleet.close()
    outcome.seconds = Math.round((Date.now() - started) / 100) / 10
  }
  return outcome
}

/**
 * True when the outcome has nothing lost, duplicated or stranded and no unexpected 5xx; with several
 * instances also no scheduled run twice in an interval, the sweep and the polls going on, every survivor ready.
 */
export function clean(o: Outcome): boolean {
  const flow = o.lost === 0 && o.duplicated === 0 && o.stranded === 0 && o.unexpected5xx === 0 && o.unaccepted === 0
  const scheduled = !o.scheduled || (o.scheduled.duplicated === 0 && o.scheduled.sweepsAfterFault > 0)
  const polls = !o.polls || (o.polls.duplicated === 0 && o.polls.unpolled === 0)
  return flow && scheduled && polls && (o.notReady ?? 0) === 0
}
