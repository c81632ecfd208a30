/**
 * Two federated gateways for the fault suite, on the suite's own PostgreSQL and Redis: 十堰 (gw-420300),
 * where a window submits, and 襄阳 (gw-420600), which receives through the `peer` adapter. Each side has
 * its own database, data directory, queue prefix and a fixed port, so that a side killed and started
 * again answers at the same address (the other side's binding keeps pointing at it).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type Gateway, repoRoot, runCli, startGateway } from '../helpers/process.js'
import { freePort, type OwnPostgres, type RedisSet } from './infra.js'

export interface Side {
  id: string
  database: string
  env: Record<string, string>
  url: string
  admin: string
  /** The running `serve` process, if any. */
  gw?: Gateway
  workers: ChildProcess[]
}

/** Fast sweeps and short locks: a fault's effects show within seconds rather than minutes. */
const quick = {
  WORKER_LOCK_MS: '2000',
  SWEEP_INTERVAL_MS: '1000',
  SWEEP_STALE_MS: '3000',
}

export class Fleet {
  readonly sides: Side[] = []
  private readonly dirs: string[] = []

  constructor(
    private readonly pg: OwnPostgres,
    private readonly redis: RedisSet,
  ) {}

  /** A side with its own database and prefix; not started. */
  async side(id: string, extra: Record<string, string> = {}): Promise<Side> {
    const tag = randomBytes(4).toString('hex')
    const database = `chaos_${id.replace('-', '_')}_${tag}`
    const url = await this.pg.createDatabase(database)
    const dir = await mkdtemp(path.join(tmpdir(), `tongban-chaos-${id}-`))
    this.dirs.push(dir)
    const port = await freePort()
    const env = {
      ...quick,
      DATABASE_URL: url,
      TONGBAN_DATA_DIR: dir,
      QUEUE_PREFIX: `chaos-${tag}`,
      GATEWAY_ID: id,
      ...this.redis.env(),
      PORT: String(port),
      ...extra,
    }
    const admin = (await runCli(['tokens', 'create', '--role', 'admin'], env)).stdout.trim()
    const side: Side = { id, database, env, url: `http://127.0.0.1:${port}`, admin, workers: [] }
    this.sides.push(side)
    return side
  }

  async start(side: Side, extra: Record<string, string> = {}): Promise<void> {
    side.gw = await startGateway({ ...side.env, ...extra }, 60_000)
  }

  /** SIGKILL of the side's `serve` process: no shutdown, whatever it held in memory is gone. */
  async kill(side: Side): Promise<void> {
    await side.gw?.stop('SIGKILL')
    side.gw = undefined
  }

  /** A `tongban worker` process for the side (deliveries only, no HTTP). */
  startWorker(side: Side): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/cli.ts'), 'worker'], {
      cwd: repoRoot,
      env: { ...process.env, ...side.env, PORT: '0', WORKER_HEALTH_PORT: '0', QUEUE_CONCURRENCY: '8' },
      stdio: 'ignore',
    })
    side.workers.push(child)
    return child
  }

  async killWorker(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve())
      child.kill('SIGKILL')
    })
  }

  /** Registers each side at the other and binds each city to the other's gateway through `peer`. */
  async pair(shiyan: Side, xiangyang: Side): Promise<void> {
    await this.register(xiangyang, shiyan, ['420300'])
    await this.register(shiyan, xiangyang, ['420600'])
    await this.bind(shiyan, '420600', xiangyang)
    await this.bind(xiangyang, '420300', shiyan)
  }

  private async register(at: Side, client: Side, regions: string[]): Promise<void> {
    const jwks = await (await fetch(`${client.url}/.well-known/jwks.json`)).text()
    const file = path.join(at.env.TONGBAN_DATA_DIR as string, `${client.id}.jwks.json`)
    await writeFile(file, jwks)
    const res = await runCli(
      ['clients', 'add', '--id', client.id, '--regions', regions.join(','), '--jwks', file],
      at.env,
    )
    if (res.code !== 0) throw new Error(`clients add at ${at.id}: ${res.stderr}`)
  }

  private async bind(at: Side, region: string, to: Side): Promise<void> {
    const res = await fetch(`${at.url}/v1/admin/bindings/${region}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${at.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        adapter: 'peer',
        settings: { baseUrl: to.url, gatewayId: to.id, clientId: at.id, allowPrivateAddresses: true },
      }),
    })
    if (res.status !== 200) throw new Error(`binding ${region} at ${at.id}: ${res.status} ${await res.text()}`)
  }

  async operator(side: Side): Promise<string> {
    const res = await runCli(
      ['tokens', 'create', '--role', 'operator', '--region', '420303', '--window', 'ZW-01', '--name', '李窗口'],
      side.env,
    )
    if (res.code !== 0) throw new Error(`tokens create: ${res.stderr}`)
    return res.stdout.trim()
  }

  async close(): Promise<void> {
    for (const s of this.sides) {
      await this.kill(s)
      for (const w of s.workers) await this.killWorker(w)
    }
    for (const d of this.dirs) await rm(d, { recursive: true, force: true })
  }
}
