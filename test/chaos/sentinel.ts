/**
 * A Redis Sentinel set of the suite's own: a primary, a replica and three sentinels (quorum two) on
 * loopback ports, in a temporary directory. `failover()` kills the primary with SIGKILL and waits until
 * the sentinels have promoted the replica; the old primary then comes back as the new one's replica.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import { repoRoot } from '../helpers/process.js'
import { binary, freePort, type RedisSet, until } from './infra.js'

const NAME = 'tongban'

/**
 * Whether this checkout's gateway takes its Redis from Sentinel (`REDIS_SENTINELS` in config/env.ts):
 * without it a gateway given a Sentinel set would fall back to the default `REDIS_URL`.
 */
export function gatewayReadsSentinels(): boolean {
  return readFileSync(path.join(repoRoot, 'config', 'env.ts'), 'utf8').includes('REDIS_SENTINELS')
}

interface Member {
  port: number
  child?: ChildProcess
}

export class OwnSentinelSet implements RedisSet {
  private constructor(
    private readonly dir: string,
    private readonly servers: Member[],
    private readonly sentinels: Member[],
  ) {}

  static async start(): Promise<OwnSentinelSet> {
    const dir = await mkdtemp(path.join(tmpdir(), 'tongban-chaos-sentinel-'))
    const servers: Member[] = [{ port: await freePort() }, { port: await freePort() }]
    const sentinels: Member[] = [{ port: await freePort() }, { port: await freePort() }, { port: await freePort() }]
    const set = new OwnSentinelSet(dir, servers, sentinels)
    const [primary, replica] = servers as [Member, Member]
    await set.launch(primary)
    await set.launch(replica, primary.port)
    await until(
      'the replica to sync',
      async () => (await set.info(replica.port)).includes('master_link_status:up'),
      30_000,
    )
    for (const s of sentinels) await set.launchSentinel(s, primary.port)
    await until(
      'every sentinel to see the replica',
      async () => {
        for (const s of sentinels) {
          const replicas = (await set.ask(s.port, ['sentinel', 'replicas', NAME])) as unknown[]
          if (replicas.length < 1) return false
        }
        return true
      },
      30_000,
    )
    return set
  }

  env(): Record<string, string> {
    return {
      REDIS_SENTINELS: this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
      REDIS_SENTINEL_NAME: NAME,
    }
  }

  client(): Redis {
    const c = new Redis({
      sentinels: this.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
      name: NAME,
      maxRetriesPerRequest: 3,
    })
    c.on('error', () => {})
    return c
  }

  /** The port of the server the sentinels name as primary. */
  async primaryPort(): Promise<number> {
    const [, port] = (await this.ask(this.sentinels[0]?.port as number, [
      'sentinel',
      'get-master-addr-by-name',
      NAME,
    ])) as [string, string]
    return Number(port)
  }

  /** SIGKILL of the primary; resolves once a sentinel names the replica primary and it serves as one. */
  async failover(): Promise<void> {
    const before = await this.primaryPort()
    const primary = this.servers.find((s) => s.port === before) as Member
    const replica = this.servers.find((s) => s.port !== before) as Member
    await stop(primary)
    await until(
      'the sentinels to promote the replica',
      async () =>
        (await this.primaryPort()) === replica.port && (await this.info(replica.port)).includes('role:master'),
      60_000,
    )
    // The old primary back, as the new one's replica (its data given up for the new primary's).
    await this.launch(primary, replica.port)
  }

  async stop(): Promise<void> {
    for (const m of [...this.sentinels, ...this.servers]) await stop(m)
    await rm(this.dir, { recursive: true, force: true })
  }

  private async launch(m: Member, replicaOf?: number): Promise<void> {
    const dir = path.join(this.dir, String(m.port))
    await mkdir(dir, { recursive: true })
    const args = ['--port', String(m.port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes']
    if (replicaOf) args.push('--replicaof', '127.0.0.1', String(replicaOf))
    m.child = spawn(binary('redis-server') as string, args, { stdio: 'ignore' })
    await until(`Redis on ${m.port} to answer`, async () => (await this.ask(m.port, ['ping'])) === 'PONG', 15_000)
  }

  private async launchSentinel(s: Member, primaryPort: number): Promise<void> {
    const file = path.join(this.dir, `sentinel-${s.port}.conf`)
    await writeFile(
      file,
      [
        `port ${s.port}`,
        'bind 127.0.0.1',
        `dir ${this.dir}`,
        `sentinel monitor ${NAME} 127.0.0.1 ${primaryPort} 2`,
        `sentinel down-after-milliseconds ${NAME} 1000`,
        `sentinel failover-timeout ${NAME} 10000`,
        `sentinel parallel-syncs ${NAME} 1`,
        '',
      ].join('\n'),
    )
    s.child = spawn(binary('redis-server') as string, [file, '--sentinel'], { stdio: 'ignore' })
    await until(`sentinel on ${s.port} to answer`, async () => (await this.ask(s.port, ['ping'])) === 'PONG', 15_000)
  }

  private async info(port: number): Promise<string> {
    return String(await this.ask(port, ['info', 'replication']))
  }

  private async ask(port: number, command: string[]): Promise<unknown> {
    const c = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    })
    c.on('error', () => {})
    try {
      await c.connect()
      return await c.call(command[0] as string, ...command.slice(1))
    } finally {
      c.disconnect()
    }
  }
}

async function stop(m: Member): Promise<void> {
  const c = m.child
  if (!c || c.exitCode !== null || c.signalCode !== null) return
  await new Promise<void>((resolve) => {
    c.once('exit', () => resolve())
    c.kill('SIGKILL')
  })
}
