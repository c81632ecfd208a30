/**
 * `npm run demo` (`tongban demo`): two gateways on loopback, 十堰 (gw-420300, the window's) and 襄阳
 * (gw-420600), each with its own embedded database and queue prefix, the simulator as 襄阳's city system,
 * and cases submitted by a 张湾区 window in each mode, with their timelines printed as they unfold.
 * Needs only Redis (REDIS_URL, default redis://127.0.0.1:6379).
 *
 * At the end it removes what it created: the gateways' data directories and their Redis keys (found by
 * their queue prefixes, never a FLUSH). With `--keep` it first leaves both gateways and the simulator
 * running, prints each console's address and an admin token, and waits for Ctrl-C.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { createSimApp } from '../../adapters/sim/server.js'
import { cstDate } from '../domain/calendar.js'
import { enterpriseEstablishmentBody, hukouCertificateBody } from './demo-cases.js'
import { type Answer, api, type Gw, removeKeys, startGateway } from './demo-gateways.js'

const time = (iso: string) => new Date(iso).toLocaleTimeString('zh-CN', { hour12: false, timeZone: 'Asia/Shanghai' })

/** What the demo started, for the clean-up. */
interface Running {
  dir: string
  prefix: string
  gateways: Gw[]
  sim?: { close(): Promise<void> }
  /** `--sm2`: 襄阳's system and the gateways sign with SM2 (PROTOCOL §2 (1.1)). */
  alg?: 'SM2'
}

/** A case the demo follows: the events printed so far, and whether its paper materials went out. */
interface Followed {
  mode: string
  id: string
  seen: number
  shipped: boolean
}

/** Resolves on the first SIGINT or SIGTERM (Ctrl-C also reaches the gateways, which stop by themselves). */
function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
}

/** Starts 十堰's and 襄阳's gateways and the simulator as 襄阳's city system; returns the simulator's address. */
async function startProcesses(running: Running): Promise<{ shiyan: Gw; xiangyang: Gw; simUrl: string }> {
  console.log('Starting two gateways (embedded databases, Redis queues) …')
  // …and what the gateways sign themselves (receipts, recognitions, evidence) is SM2 too (SIGNING_ALG).
  const signing: Record<string, string> = running.alg ? { SIGNING_ALG: running.alg } : {}
  const [shiyan, xiangyang] = await Promise.all([
    startGateway('gw-420300', path.join(running.dir, 'shiyan'), `${running.prefix}-sy`, signing),
    startGateway('gw-420600', path.join(running.dir, 'xiangyang'), `${running.prefix}-xy`, signing),
  ])
  running.gateways.push(shiyan, xiangyang)
  console.log(`  十堰 gw-420300 ${shiyan.url}   襄阳 gw-420600 ${xiangyang.url}`)
  const simApp = createSimApp({
    port: 0,
    simId: 'sim-420600',
    gatewayUrl: xiangyang.url,
    gatewayId: 'gw-420600',
    ...(running.alg ? { alg: running.alg } : {}),
    acceptDelayMs: 1200,
    reviewDelayMs: 1500,
    decideDelayMs: 1500,
    receiveDelayMs: 1500,
  })
  const sim = await simApp.start()
  running.sim = sim
  console.log(`  襄阳市政务服务系统（模拟） ${sim.url}`)
  return { shiyan, xiangyang, simUrl: sim.url }
}

/** Registers each gateway at the other and the system at both, binds the regions; returns a window token. */
async function connect(shiyan: Gw, xiangyang: Gw, simUrl: string, alg?: 'SM2'): Promise<string> {
  const jwks = async (url: string) => (await fetch(`${url}/.well-known/jwks.json`)).json()
  await api(xiangyang, 'POST', '/v1/admin/clients', {
    id: 'gw-420300',
    regions: ['420300'],
    jwks: await jwks(shiyan.url),
  })
  await api(shiyan, 'POST', '/v1/admin/clients', {
    id: 'gw-420600',
    regions: ['420600'],
    jwks: await jwks(xiangyang.url),
  })
  // 襄阳's system signs its results with its own key: 襄阳 takes them from it, and 十堰, where they are
  // recognised after 襄阳 relays them, knows its public keys too.
  for (const gw of [xiangyang, shiyan]) {
    await api(gw, 'POST', '/v1/admin/clients', { id: 'sim-420600', regions: ['420600'], jwks: await jwks(simUrl) })
  }
  const peer = (to: Gw, as: string) => ({
    adapter: 'peer',
    settings: {
      baseUrl: to.url,
      gatewayId: to.id,
      clientId: as,
      allowPrivateAddresses: true,
      ...(alg ? { signingAlg: alg } : {}),
    },
  })
  await api(shiyan, 'PUT', '/v1/admin/bindings/420600', peer(xiangyang, 'gw-420300'))
  await api(xiangyang, 'PUT', '/v1/admin/bindings/420300', peer(shiyan, 'gw-420600'))
  await api(xiangyang, 'PUT', '/v1/admin/bindings/420600', { adapter: 'sim', settings: { baseUrl: simUrl } })
  const window = (
    await api(
      shiyan,
      'POST',
      '/v1/admin/tokens',
      { role: 'operator', region: '420303', window: 'ZW-KSTB-01', name: '张湾区跨省通办专窗 李窗口' },
      shiyan.security,
    )
  ).token as string
  console.log(
    '  Registered each gateway at the other and 襄阳’s system at both, bound 襄阳 to its system, issued a window token.',
  )
  if (alg) {
    console.log(
      '  国密: 襄阳’s system signs with SM2 (bsh with SM3); the gateways exchange SM2 assertions and sign with SM2.',
    )
  }
  console.log('')
  return window
}

/** A 户籍证明 case in each single-site mode, submitted at the 张湾区 window. */
async function submitCertificates(shiyan: Gw, window: string): Promise<Followed[]> {
  const cases: Followed[] = []
  for (const mode of ['full_online', 'online_transfer', 'offline_proxy']) {
    const created = (await api(shiyan, 'POST', '/v1/cases', hukouCertificateBody(mode), window, {
      'idempotency-key': `demo-${mode}`,
    })) as Required<Pick<Answer, 'case'>>
    console.log(
      `[${mode}] submitted at the 张湾区 window: case ${created.case.id}, ${created.case.scope} under ${created.case.agreement?.id}@${created.case.agreement?.version}, due ${created.case.dueDate}`,
    )
    cases.push({ mode, id: created.case.id, seen: 1, shipped: false })
  }
  return cases
}

/** A company's establishment in 襄阳 and 随州 (multi_site), submitted once; returns the parent and its children. */
async function submitMultiSite(shiyan: Gw, window: string): Promise<{ parentId: string; children: Followed[] }> {
  const multi = await api(shiyan, 'POST', '/v1/cases', enterpriseEstablishmentBody(['420600', '421300']), window, {
    'idempotency-key': 'demo-multi_site',
  })
  console.log(`[multi_site] submitted once at the window: case ${multi.case?.id}, one child per site:`)
  const children: Followed[] = []
  for (const child of multi.case?.children ?? []) {
    console.log(
      `[multi_site] child ${child.id} for ${child.processingRegion}${child.processingRegion === '421300' ? ' (随州: no system bound, staff record progress)' : ''}`,
    )
    children.push({ mode: `multi_site/${child.processingRegion}`, id: child.id, seen: 1, shipped: false })
  }
  console.log('')
  return { parentId: multi.case?.id as string, children }
}

/** Prints a case's new events and plays the people's part: 随州's staff decide, the window ships the paper. */
async function step(shiyan: Gw, c: Followed, tokens: { window: string; staff: string }): Promise<void> {
  const events = (await api(shiyan, 'GET', `/v1/cases/${c.id}/events`, undefined, tokens.window)).events ?? []
  for (const e of events.slice(c.seen)) {
    console.log(
      `[${c.mode}] ${time(e.at)}  ${e.type.padEnd(20)} ${e.actor.padEnd(22)} ${e.data.remoteRef ? `→ ${e.data.adapter} ${e.data.remoteRef}` : ''}`,
    )
  }
  c.seen = events.length
  if (c.mode === 'multi_site/421300' && events.length === 2 && events[1]?.type === 'dispatched') {
    await api(shiyan, 'POST', `/v1/cases/${c.id}/events`, { type: 'accepted' }, tokens.staff)
    await api(
      shiyan,
      'POST',
      `/v1/cases/${c.id}/result`,
      { outcome: 'approved', decision: { number: '随市监登〔2026〕7号', date: cstDate(new Date()) }, trust: 'B' },
      tokens.staff,
    )
  }
  if (c.mode === 'offline_proxy' && !c.shipped && events.some((e) => e.type === 'dispatched')) {
    c.shipped = true
    await api(
      shiyan,
      'POST',
      `/v1/cases/${c.id}/events`,
      { type: 'materials_shipped', data: { carrier: 'EMS', trackingNumber: 'EA123456789CN' } },
      tokens.window,
    )
  }
}

/** Once the multi-site parent is completed, its results are handed over together; returns whether they were. */
async function issueTogether(shiyan: Gw, parentId: string, window: string): Promise<boolean> {
  const parent = await api(shiyan, 'GET', `/v1/cases/${parentId}`, undefined, window)
  if (parent.status !== 'completed') return false
  const together = await api(shiyan, 'GET', `/v1/cases/${parentId}/result`, undefined, window)
  console.log(
    `[multi_site] parent completed: ${together.results?.length} results issued together, handed over at the window`,
  )
  await api(
    shiyan,
    'POST',
    `/v1/cases/${parentId}/events`,
    { type: 'result_delivered', data: { method: 'window_pickup' } },
    window,
  )
  return true
}

/**
 * Follows the cases until every one is recognised at 十堰 (襄阳's system decides and signs; 襄阳 relays the
 * result) and the multi-site results are issued together at the window, or 60 s.
 */
async function follow(shiyan: Gw, window: string, cases: Followed[], parentId: string): Promise<void> {
  // 随州 has no system: its staff record their part at 十堰's gateway with a token for their region.
  const staff = (
    await api(
      shiyan,
      'POST',
      '/v1/admin/tokens',
      { role: 'operator', region: '421300', window: 'SZ-SCJ-01', name: '随州市市场监管局 审批科' },
      shiyan.security,
    )
  ).token as string
  let issued = false
  const until = Date.now() + 60_000
  const target = (mode: string) =>
    mode === 'multi_site/421300' ? 6 : mode === 'multi_site/420600' ? 7 : mode === 'offline_proxy' ? 8 : 6
  while (Date.now() < until && (!issued || cases.some((c) => c.seen < target(c.mode)))) {
    for (const c of cases) await step(shiyan, c, { window, staff })
    if (!issued) issued = await issueTogether(shiyan, parentId, window)
    await new Promise((r) => setTimeout(r, 300))
  }
}

async function printTimelines(shiyan: Gw, window: string, cases: Followed[], parentId: string): Promise<void> {
  console.log('\nFinal timelines at 十堰 (hash-chained; GET /v1/cases/{id}/events):')
  for (const c of cases) {
    const events = (await api(shiyan, 'GET', `/v1/cases/${c.id}/events`, undefined, window)).events ?? []
    console.log(`  ${c.mode.padEnd(16)} ${events.map((e) => e.type).join(' → ')}`)
  }
  const parentEvents = (await api(shiyan, 'GET', `/v1/cases/${parentId}/events`, undefined, window)).events ?? []
  console.log(`  ${'multi_site'.padEnd(16)} ${parentEvents.map((e) => e.type).join(' → ')} (the parent)`)
}

/** --sm2: the algorithms of what crossed for one case (襄阳's receipt, its system's result, 十堰's recognition). */
async function printAlgorithms(shiyan: Gw, id: string | undefined, token: string): Promise<void> {
  if (!id) return
  const algOf = (jws: unknown) =>
    typeof jws === 'string' ? JSON.parse(Buffer.from(jws.split('.')[0] ?? '', 'base64url').toString()).alg : '—'
  const events = (await api(shiyan, 'GET', `/v1/cases/${id}/events`, undefined, token)).events ?? []
  const receipt = events.find((e) => e.type === 'dispatched')?.data?.receipt
  const result = (await api(shiyan, 'GET', `/v1/cases/${id}/result`, undefined, token).catch(() => ({}))) as {
    result?: string
    verification?: { recognition?: string }
  }
  console.log(
    `\n签名算法 (online_transfer): 襄阳's receipt ${algOf(receipt)}, its system's result ${algOf(result.result)}, 十堰's recognition ${algOf(result.verification?.recognition)}`,
  )
}

/** `--keep`: prints how to sign in to each console, then waits for Ctrl-C. */
async function keepRunning(gateways: Gw[]): Promise<void> {
  console.log('\nStill running (--keep). Sign in to each console with its admin token:')
  for (const g of gateways) {
    console.log(`  ${g.id}  ${g.url}/console/login\n    admin token: ${g.admin}`)
    console.log(`    CLI: TONGBAN_DATA_DIR=${g.env.TONGBAN_DATA_DIR} npm run -s tongban -- tokens list`)
  }
  console.log('Press Ctrl-C to stop both gateways and the simulator and remove the demo’s data and Redis keys.')
  await untilInterrupted()
}

/** Stops the simulator and the gateways, removes the data directory and the demo's Redis keys. */
async function cleanUp(running: Running): Promise<void> {
  await running.sim?.close()
  for (const g of running.gateways) {
    await new Promise<void>((resolve) => {
      if (g.child.exitCode !== null) return resolve()
      g.child.once('exit', () => resolve())
      g.child.kill('SIGTERM')
    })
  }
  await rm(running.dir, { recursive: true, force: true })
  const { prefix } = running
  let keys = 0
  for (const p of [`${prefix}-sy`, `${prefix}-xy`]) {
    keys += await removeKeys(p).catch(() => 0)
  }
  console.log(`Removed the demo's data directory and ${keys} Redis key(s) under ${prefix}-sy: and ${prefix}-xy:.`)
}

export async function demoCommand(args: string[] = []): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { keep: { type: 'boolean', default: false }, sm2: { type: 'boolean', default: false } },
  })
  const running: Running = {
    dir: await mkdtemp(path.join(tmpdir(), 'tongban-demo-')),
    prefix: `demo-${process.pid}`,
    gateways: [],
    // --sm2: 襄阳's system signs with SM2 and the gateways sign their assertions to each other with SM2;
    // each gateway holds an SM2 key beside its ES256 one from its first start.
    ...(values.sm2 ? { alg: 'SM2' as const } : {}),
  }
  try {
    const { shiyan, xiangyang, simUrl } = await startProcesses(running)
    const window = await connect(shiyan, xiangyang, simUrl, running.alg)
    const cases = await submitCertificates(shiyan, window)
    const { parentId, children } = await submitMultiSite(shiyan, window)
    cases.push(...children)
    await follow(shiyan, window, cases, parentId)
    await printTimelines(shiyan, window, cases, parentId)
    if (running.alg) await printAlgorithms(shiyan, cases[1]?.id, window)
    if (values.keep) await keepRunning(running.gateways)
    return 0
  } finally {
    await cleanUp(running)
  }
}
