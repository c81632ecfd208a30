/**
 * Two real `tongban serve` processes on loopback that know each other through `peer` bindings, for end-to-end
 * tests: 十堰 (gw-420300, where the windows are) and 襄阳 (gw-420600). Each side has its own database, data
 * directory and queue prefix; each is registered at the other as a system client acting for its regions.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, expect } from 'vitest'
import { createSimApp, type RunningSim } from '../../adapters/sim/server.js'
import { scratchDatabase } from './db.js'
import { type Gateway, runCli, startGateway, stopAllGateways } from './process.js'
import { cleanQueuePrefix, testQueuePrefix, testRedisEnv } from './redis.js'
import { waitFor as waitUntil } from './wait.js'

export interface Side {
  env: Record<string, string>
  gw: Gateway
  /** An admin token of this side. */
  admin: string
  dir: string
}

/** Things to undo after the file's tests, newest first (`runCleanups`). */
export type Cleanups = (() => Promise<unknown>)[]

export async function startSide(id: string, cleanups: Cleanups, extraEnv: Record<string, string> = {}): Promise<Side> {
  const db = await scratchDatabase(`fed_${id.replace('-', '_')}`)
  const dir = await mkdtemp(path.join(tmpdir(), `tongban-fed-${id}-`))
  const prefix = testQueuePrefix()
  cleanups.push(
    () => db.drop(),
    () => rm(dir, { recursive: true, force: true }),
    () => cleanQueuePrefix(prefix),
  )
  const env = {
    DATABASE_URL: db.url,
    TONGBAN_DATA_DIR: dir,
    QUEUE_PREFIX: prefix,
    GATEWAY_ID: id,
    ...testRedisEnv(),
    ...extraEnv,
  }
  const gw = await startGateway(env)
  const admin = (await runCli(['tokens', 'create', '--role', 'admin'], env)).stdout.trim()
  return { env, gw, admin, dir }
}

export async function runCleanups(cleanups: Cleanups): Promise<void> {
  for (const c of cleanups.reverse()) await c().catch(() => {})
  cleanups.length = 0
}

/** Stops every gateway the file started, then undoes its cleanups: a federation file's `afterAll`. */
export async function stopFederation(cleanups: Cleanups): Promise<void> {
  await stopAllGateways()
  await runCleanups(cleanups)
}

/**
 * 十堰 (gw-420300) and 襄阳 (gw-420600) started side by side and made peers (`pairShiyanXiangyang`).
 * `shiyanEnv` and `xiangyangEnv` add to each side's environment; `signingAlg` is what each peer binding asks for.
 */
export async function startShiyanXiangyang(
  cleanups: Cleanups,
  opts: {
    shiyanEnv?: Record<string, string>
    xiangyangEnv?: Record<string, string>
    signingAlg?: 'ES256' | 'EdDSA' | 'SM2'
  } = {},
): Promise<{ shiyan: Side; xiangyang: Side }> {
  const [shiyan, xiangyang] = await Promise.all([
    startSide('gw-420300', cleanups, opts.shiyanEnv),
    startSide('gw-420600', cleanups, opts.xiangyangEnv),
  ])
  await pairShiyanXiangyang(shiyan, xiangyang, opts.signingAlg ? { signingAlg: opts.signingAlg } : {})
  return { shiyan, xiangyang }
}

/**
 * 襄阳's city system: the simulator (signing with `alg`, default ES256) with short delays, bound to 420600 at
 * 襄阳. Its keys are registered at both gateways, 襄阳 to take its answers and 十堰 to recognise the results
 * it signs (`tongban clients add --id sim-420600 --regions 420600 --jwks FILE`).
 */
export async function startXiangyangSim(
  sides: { shiyan: Side; xiangyang: Side },
  cleanups: Cleanups,
  opts: { alg?: 'SM2' } = {},
): Promise<RunningSim> {
  const sim = await createSimApp({
    port: 0,
    simId: 'sim-420600',
    gatewayUrl: sides.xiangyang.gw.url,
    gatewayId: 'gw-420600',
    ...(opts.alg ? { alg: opts.alg } : {}),
    acceptDelayMs: 200,
    reviewDelayMs: 200,
    decideDelayMs: 200,
    receiveDelayMs: 200,
    retryInitialMs: 100,
  }).start()
  cleanups.push(() => sim.close())
  const jwks = `${sim.url}/.well-known/jwks.json`
  await register(sides.xiangyang, 'sim-420600', jwks, ['420600'])
  await register(sides.shiyan, 'sim-420600', jwks, ['420600'])
  await bind(sides.xiangyang, '420600', 'sim', { baseUrl: sim.url })
  return sim
}

/** A federation file's gateways, from `useFederation`: the sides are set once its `beforeAll` has run. */
export interface Federation {
  shiyan: Side
  xiangyang: Side
  /** `waitAcross` both sides: on a timeout it prints their last warnings and errors. */
  waitFor: ReturnType<typeof waitAcross>
  /** Undone after the file's tests (`stopFederation`): a file adds what it starts beside the gateways. */
  cleanups: Cleanups
}

/**
 * A federation file's setup, called at its top level: a `beforeAll` that starts 十堰 and 襄阳 as peers
 * (`startShiyanXiangyang` with `opts`) and, with `sim`, 襄阳's simulated system (`startXiangyangSim`), and an
 * `afterAll` that stops them. The file's own `beforeAll` hooks, registered after this call, run after it.
 * `waitMs` is `waitFor`'s default; `startMs` the start's timeout (default 120 s).
 */
export function useFederation(
  opts: Parameters<typeof startShiyanXiangyang>[1] & { sim?: { alg?: 'SM2' }; waitMs: number; startMs?: number },
): Federation {
  const cleanups: Cleanups = []
  const sides: Partial<Pick<Federation, 'shiyan' | 'xiangyang'>> = {}
  const waitFor = waitAcross(() => [sides.shiyan, sides.xiangyang].filter((s) => s !== undefined), opts.waitMs)
  const federation = {
    get shiyan() {
      return started(sides.shiyan)
    },
    get xiangyang() {
      return started(sides.xiangyang)
    },
    waitFor,
    cleanups,
  }
  beforeAll(async () => {
    Object.assign(sides, await startShiyanXiangyang(cleanups, opts))
    if (opts.sim) await startXiangyangSim(federation, cleanups, opts.sim)
  }, opts.startMs ?? 120_000)
  afterAll(() => stopFederation(cleanups), 60_000)
  return federation
}

function started(side: Side | undefined): Side {
  if (!side) throw new Error('the federation is not started: use its sides in a test or a later beforeAll')
  return side
}

/**
 * `waitFor` for a background effect across gateways: on a timeout it prints each side's last warnings and
 * errors, to tell why. `sides` is read when the wait fails, so it may name sides started later.
 */
export function waitAcross(sides: () => Side[], defaultMs: number) {
  return <T>(what: string, f: () => Promise<T | undefined | null | false>, ms = defaultMs): Promise<T> =>
    waitUntil(what, f, ms).catch((e) => {
      for (const side of sides()) {
        const lines = side.gw.output().split('\n')
        console.log(
          side.env.GATEWAY_ID,
          lines
            .filter((l) => /"level":[45]0/.test(l))
            .slice(-10)
            .join('\n'),
        )
      }
      throw e
    })
}

/** A JSON call to a side (`token` defaults to its admin); the body parsed, or undefined when empty. */
export async function call(
  side: Side,
  method: string,
  p: string,
  body?: unknown,
  token = side.admin,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${side.gw.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  const text = await res.text()
  return { status: res.status, body: text ? (JSON.parse(text) as any) : undefined }
}

/** Registers a client (its JWKS fetched from `jwksUrl`) at `at`, acting for `regions`. */
export async function register(at: Side, clientId: string, jwksUrl: string, regions: string[]): Promise<void> {
  const jwks = await (await fetch(jwksUrl)).json()
  const file = path.join(at.dir, `${clientId}.jwks.json`)
  await writeFile(file, JSON.stringify(jwks))
  const res = await runCli(['clients', 'add', '--id', clientId, '--regions', regions.join(','), '--jwks', file], at.env)
  expect(res.code, res.stderr).toBe(0)
}

/** Binds `region` at `side` to an adapter (admin API). */
export async function bind(side: Side, region: string, adapter: string, settings: Record<string, unknown>) {
  const res = await call(side, 'PUT', `/v1/admin/bindings/${region}`, { adapter, settings })
  expect(res.status, JSON.stringify(res.body)).toBe(200)
}

/**
 * Makes 十堰 and 襄阳 peers: each registered at the other as a client acting for its city, and each city bound
 * to the other's gateway through the `peer` adapter. `signingAlg` (e.g. SM2) is what each binding asks the
 * gateway to sign its assertions to the other with (PROTOCOL §2); default each gateway's own.
 */
export async function pairShiyanXiangyang(
  shiyan: Side,
  xiangyang: Side,
  opts: { signingAlg?: 'ES256' | 'EdDSA' | 'SM2' } = {},
): Promise<void> {
  const alg = opts.signingAlg ? { signingAlg: opts.signingAlg } : {}
  await register(xiangyang, 'gw-420300', `${shiyan.gw.url}/.well-known/jwks.json`, ['420300'])
  await register(shiyan, 'gw-420600', `${xiangyang.gw.url}/.well-known/jwks.json`, ['420600'])
  await bind(shiyan, '420600', 'peer', {
    baseUrl: xiangyang.gw.url,
    gatewayId: 'gw-420600',
    clientId: 'gw-420300',
    allowPrivateAddresses: true,
    ...alg,
  })
  await bind(xiangyang, '420300', 'peer', {
    baseUrl: shiyan.gw.url,
    gatewayId: 'gw-420300',
    clientId: 'gw-420600',
    allowPrivateAddresses: true,
    ...alg,
  })
}

/** A person's token at a side (`tongban tokens create`). */
export async function tokenAt(
  side: Side,
  role: 'operator' | 'admin',
  region?: string,
  window?: string,
  name?: string,
  /** Limits the token to these department codes (PROTOCOL 1.1 §2). */
  departments?: string[],
): Promise<string> {
  const args = ['tokens', 'create', '--role', role]
  if (region) args.push('--region', region)
  if (window) args.push('--window', window)
  if (name) args.push('--name', name)
  if (departments) args.push('--departments', departments.join(','))
  const res = await runCli(args, side.env)
  expect(res.code, res.stderr).toBe(0)
  return res.stdout.trim()
}

/** The event types of a case's timeline at a side. */
export async function typesOf(side: Side, id: string, token?: string): Promise<string[]> {
  return ((await call(side, 'GET', `/v1/cases/${id}/events`, undefined, token)).body?.events ?? []).map(
    (e: { type: string }) => e.type,
  )
}

/** The latest event of `type` on a case at a side, once there is one (undefined before). */
export async function lastEventOf(side: Side, id: string, type: string, token?: string) {
  const events = (await call(side, 'GET', `/v1/cases/${id}/events`, undefined, token)).body?.events ?? []
  return (events as { type: string; data: Record<string, unknown>; actor: string }[])
    .filter((e) => e.type === type)
    .at(-1)
}
