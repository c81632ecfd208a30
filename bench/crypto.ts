/**
 * `npm run bench -- crypto`: the signature algorithms of PROTOCOL §2 side by side, all measured in one run.
 * 1. Signatures and verifications per CPU second for ES256, EdDSA and SM2 through the gateway's own JWS module
 *    (security/jws.ts) over an assertion-sized signing input; SM2 verification also with a key seen for the
 *    first time (no per-key table yet), which is what a one-off verifier pays, and the CPU that SM2's tables
 *    cost once (the generator's at start, a client key's at its second verification).
 * 2. Intake with an SM2 caller beside an ES256 caller against one gateway (API only: QUEUE_CONCURRENCY=0,
 *    so that no delivery work lands in one phase rather than the other): the two callers' runs alternate
 *    (ES256, SM2, ES256, SM2), the same number of requests each, so that load on the machine falls on both
 *    alike, after a warm-up of both, and the gateway's CPU per accepted request of each is compared (target: SM2 ≤ 1.5 × ES256). The
 *    gateway's idle CPU (timers, pool upkeep), measured before, is also subtracted in a second figure.
 * Every loop is bounded in count and time.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { generateJwkPair, type JwsAlg, keyFromJwk, signCompact, verifyCompact } from '../src/security/jws.js'
import { Sm2PublicKey } from '../src/security/sm2.js'
import { GX, GY, PointTable } from '../src/security/sm2-curve.js'
import { type ClientAlg, newClientKey, signAssertion } from '../test/helpers/client-assertion.js'
import { diff, snapshot } from './lib/cpu.js'
import { cli, startBenchGateway } from './lib/gateway.js'
import { runLoad } from './lib/proc.js'
import { caseBody } from './lib/submit.js'

const connections = Number(process.env.BENCH_CONNECTIONS ?? 20)
/** How long a phase runs (the load generator runs this long, or until its requests are used up). */
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 40_000)
const warmupMs = 500
const perPhase = Number(process.env.BENCH_CRYPTO_REQUESTS ?? 1500)

/**
 * Operations per second of this process's CPU time (not of the wall clock, which a loaded machine stretches),
 * running `op` for at most `ms` of wall time and `max` times.
 */
function rate(op: () => void, ms = 1500, max = 200_000): number {
  for (let i = 0; i < 50; i++) op()
  const cpu = process.cpuUsage()
  const start = performance.now()
  let n = 0
  while (n < max && performance.now() - start < ms) {
    op()
    n++
  }
  const used = process.cpuUsage(cpu)
  return n / ((used.user + used.system) / 1e6)
}

function micro(): void {
  const payload = {
    iss: 'bench-client',
    sub: 'bench-client',
    aud: 'gw-intake',
    iat: 1_790_000_000,
    exp: 1_790_000_060,
    jti: '0194f5c2-7d3a-7b1e-9c4f-2a6b8e0d1f37',
    htm: 'POST',
    htu: '/v1/cases',
    bsh: 'x'.repeat(43),
  }
  console.log('per second of CPU:')
  console.log('| alg | sign/s | verify/s |')
  console.log('| --- | ---: | ---: |')
  for (const alg of ['ES256', 'EdDSA', 'SM2'] as JwsAlg[]) {
    const { privateJwk, publicJwk } = generateJwkPair(alg)
    const priv = keyFromJwk(privateJwk, 'private')
    const pub = keyFromJwk(publicJwk, 'public')
    const header = { alg, kid: 'k', typ: 'tongban-client+jwt' }
    const token = signCompact(payload, header, priv)
    if (!verifyCompact(token, alg, pub)) throw new Error(`${alg}: the bench token does not verify`)
    const signs = rate(() => signCompact(payload, header, priv))
    const verifies = rate(() => verifyCompact(token, alg, pub))
    console.log(`| ${alg} | ${signs.toFixed(0)} | ${verifies.toFixed(0)} |`)
    if (alg === 'SM2') {
      const x = Buffer.from(String(publicJwk.x), 'base64url')
      const y = Buffer.from(String(publicJwk.y), 'base64url')
      // A key object made anew for every verification: no wNAF table, no cached Z.
      const cold = rate(() => verifyCompact(token, alg, Sm2PublicKey.fromCoordinates(x, y)), 1500, 2000)
      console.log(`| SM2, key seen for the first time | | ${cold.toFixed(0)} |`)
      // What a process pays once: the generator's table (when it loads its first SM2 key) and a client key's
      // table (at that key's second verification).
      const cpuMs = (build: () => unknown) => {
        const start = process.cpuUsage()
        build()
        const used = process.cpuUsage(start)
        return (used.user + used.system) / 1000
      }
      const key = Sm2PublicKey.fromCoordinates(x, y)
      console.log(
        `SM2 tables, CPU once: generator (window 10) ${cpuMs(() => new PointTable({ x: GX, y: GY }, 10)).toFixed(0)} ms ` +
          `at start, a client key (window 8) ${cpuMs(() => new PointTable(key.point, 8)).toFixed(0)} ms at its second verification`,
      )
    }
  }
}

async function intake(): Promise<void> {
  const gw = await startBenchGateway('crypto', { WORKERS: process.env.BENCH_WORKERS ?? '1', QUEUE_CONCURRENCY: '0' })
  const gatewayCpu = (before: ReturnType<typeof snapshot>, after: ReturnType<typeof snapshot>) =>
    diff(before, after, (pid, comm) =>
      pid === gw.child.pid || (comm === 'node' && gw.workerPids().includes(pid)) ? 'gateway' : null,
    ).get('gateway') ?? 0
  const dir = await mkdtemp(path.join(tmpdir(), 'tongban-bench-crypto-'))
  try {
    // Each phase's requests are signed just before it runs: an assertion lives at most 300 s.
    const keys: Record<string, { id: string; key: Awaited<ReturnType<typeof newClientKey>> }> = {}
    for (const alg of ['ES256', 'SM2'] as ClientAlg[]) {
      const key = await newClientKey(alg)
      const id = `bench-${alg.toLowerCase()}`
      const jwksFile = path.join(dir, `${id}.json`)
      await writeFile(jwksFile, JSON.stringify(key.jwks))
      await cli(['clients', 'add', '--id', id, '--regions', '420300', '--jwks', jwksFile], gw.env)
      keys[alg] = { id, key }
    }
    let i = 0
    const prepare = async (alg: string, round: number): Promise<string> => {
      const { id, key } = keys[alg]!
      const lines: string[] = []
      for (let k = 0; k < perPhase; k++, i++) {
        const body = caseBody(i)
        const assertion = await signAssertion({
          clientId: id,
          key,
          audience: 'gw-crypto',
          method: 'POST',
          pathAndQuery: '/v1/cases',
          body,
          ttlSeconds: 300,
        })
        const headers = { authorization: `Bearer ${assertion}`, 'content-type': 'application/json' }
        lines.push(
          JSON.stringify({
            method: 'POST',
            path: '/v1/cases',
            headers: { ...headers, 'idempotency-key': `b-${i}` },
            body,
          }),
        )
      }
      const file = path.join(dir, `${id}-${round}.jsonl`)
      await writeFile(file, `${lines.join('\n')}\n`)
      return file
    }
    const idleStart = snapshot()
    const idleT = performance.now()
    await new Promise((r) => setTimeout(r, 5000))
    const idlePerS = gatewayCpu(idleStart, snapshot()) / ((performance.now() - idleT) / 1000)
    console.log(`gateway idle: ${(idlePerS * 1000).toFixed(0)} ms CPU per second`)
    type Total = { cpu: number; idle: number; served: number; rps: number[]; p99: number[]; non201: number }
    const totals: Record<string, Total> = {
      ES256: { cpu: 0, idle: 0, served: 0, rps: [], p99: [], non201: 0 },
      SM2: { cpu: 0, idle: 0, served: 0, rps: [], p99: [], non201: 0 },
    }
    // A warm-up of both callers first (not counted): the first intakes of a fresh process pay for JIT
    // compilation and connection pools, which would otherwise fall on whichever caller runs first.
    for (const alg of ['ES256', 'SM2']) {
      await runLoad({ url: gw.url, connections, durationMs: 10_000, warmupMs: 0, requestsFile: await prepare(alg, 9) })
    }
    for (const round of [0, 1]) {
      for (const alg of ['ES256', 'SM2']) {
        const requestsFile = await prepare(alg, round)
        const before = snapshot()
        const started = performance.now()
        const r = await runLoad({ url: gw.url, connections, durationMs, warmupMs, requestsFile })
        const after = snapshot()
        const seconds = (performance.now() - started) / 1000
        const cpu = gatewayCpu(before, after)
        const served = perPhase - Math.max(0, r.preparedLeft ?? 0)
        const t = totals[alg]!
        t.cpu += cpu
        t.idle += (idlePerS * (performance.now() - started)) / 1000
        t.served += served
        // No rate: the load generator runs its whole duration even when its requests are used up early.
        t.rps.push(r.p50Ms)
        t.p99.push(r.p99Ms)
        t.non201 += r.requests - (r.statuses['201'] ?? 0)
        console.log(
          `round ${round + 1} ${alg.padEnd(5)} ${served} requests (phase ${seconds.toFixed(0)} s), p50 ${r.p50Ms} ms, ` +
            `p99 ${r.p99Ms} ms, statuses ${JSON.stringify(r.statuses)}; gateway CPU ${((cpu / served) * 1e6).toFixed(0)} µs/request`,
        )
      }
    }
    const per = (alg: string) => totals[alg]!.cpu / totals[alg]!.served
    const busy = (alg: string) => Math.max(0, totals[alg]!.cpu - totals[alg]!.idle) / totals[alg]!.served
    for (const alg of ['ES256', 'SM2']) {
      const t = totals[alg]!
      console.log(
        `${alg.padEnd(5)} caller: gateway CPU ${(per(alg) * 1e6).toFixed(0)} µs per request ` +
          `(${(busy(alg) * 1e6).toFixed(0)} µs without idle) over ${t.served} requests, ` +
          `p50 ${t.rps.join(' / ')} ms, p99 ${t.p99.join(' / ')} ms, non-201 ${t.non201}`,
      )
    }
    console.log(
      `ratio SM2/ES256 gateway CPU per request: ${(per('SM2') / per('ES256')).toFixed(2)}, without idle ` +
        `${(busy('SM2') / busy('ES256')).toFixed(2)} (target ≤ 1.5)`,
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
    await gw.cleanup()
  }
}

export async function cryptoBench(): Promise<void> {
  const [load1] = (await import('node:os')).loadavg()
  console.log(`load average at start: ${load1?.toFixed(2)} on ${(await import('node:os')).cpus().length} CPU(s)`)
  micro()
  // BENCH_CRYPTO_INTAKE=0: the signature figures alone.
  if (process.env.BENCH_CRYPTO_INTAKE !== '0') await intake()
  console.log(`load average at end: ${(await import('node:os')).loadavg()[0]?.toFixed(2)}`)
}
