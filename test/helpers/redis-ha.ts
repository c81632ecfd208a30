/**
 * Redis topologies of a test's own on loopback, on ports it chooses (this machine's tests use 7400–7499):
 * a Sentinel set (a primary, a replica and three sentinels) and a three-node Redis Cluster. Each server is a
 * `redis-server` child of this process in a temporary directory, without persistence; `stop()` ends them
 * all and removes the directory. Nothing here signals a process it did not start.
 *
 * The settings of a gateway that uses one come from `env` (REDIS_SENTINELS/REDIS_SENTINEL_NAME, or
 * REDIS_CLUSTER_NODES); `testEnv` is the same for test/helpers/redis.ts (`TEST_REDIS_…`), so that any
 * suite's gateways run against it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { waitFor } from './wait.js'

const run = promisify(execFile)
const host = '127.0.0.1'

export interface RedisTopology {
  /** The gateway's Redis settings for this topology. */
  env: Record<string, string>
  /** The same for the test helpers (test/helpers/redis.ts reads them at import). */
  testEnv: Record<string, string>
  stop(): Promise<void>
}

export interface SentinelSet extends RedisTopology {
  /** The name the sentinels know the primary by. */
  name: string
  /** The port of the server the sentinels call primary now. */
  primaryPort(): Promise<number>
  /** SIGKILL to the primary, then waits until the sentinels have promoted the replica; returns its port. */
  killPrimary(): Promise<number>
}

/** One redis-server child; resolves once it answers PING. */
class Server {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  static async start(port: number, args: string[], what: string): Promise<Server> {
    const child = spawn('redis-server', args, { stdio: 'ignore' })
    const server = new Server(port, child)
    let exited = false
    child.once('exit', () => {
      exited = true
    })
    await waitFor(`${what} on ${port} to answer`, async () => {
      if (exited) throw new Error(`${what} on ${port} exited (is the port taken?)`)
      return (await ask(port, (c) => c.ping()).catch(() => undefined)) === 'PONG'
    })
    return server
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** Ends it (SIGKILL: a crash, or SIGTERM) and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    this.child.kill(signal)
    await exited
  }
}

/** One command over a short-lived connection to `port` that does not retry. */
async function ask<T>(port: number, f: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  c.on('error', () => {})
  try {
    await c.connect()
    return await f(c)
  } finally {
    c.disconnect()
  }
}

const noPersistence = ['--bind', host, '--save', '', '--appendonly', 'no']

/**
 * A primary on `basePort`, its replica on `basePort + 1` and three sentinels on `basePort + 10 … + 12`
 * (quorum 2, a primary is down after 1 s without an answer), ready when the sentinels know the replica and
 * each other, so that a failover can happen at once.
 */
export async function startSentinelSet(basePort: number, name = 'mymaster'): Promise<SentinelSet> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tongban-sentinel-'))
  const servers: Server[] = []
  const stop = async () => {
    for (const s of servers.reverse()) await s.stop()
    await rm(dir, { recursive: true, force: true })
  }
  try {
    const primary = await Server.start(
      basePort,
      ['--port', String(basePort), ...noPersistence, '--dir', dir],
      'primary',
    )
    servers.push(primary)
    const replicaPort = basePort + 1
    servers.push(
      await Server.start(
        replicaPort,
        ['--port', String(replicaPort), ...noPersistence, '--dir', dir, '--replicaof', host, String(basePort)],
        'replica',
      ),
    )
    await waitFor('the replica to sync', async () =>
      (await ask(replicaPort, (c) => c.info('replication'))).includes('master_link_status:up'),
    )
    const sentinelPorts = [basePort + 10, basePort + 11, basePort + 12]
    for (const port of sentinelPorts) {
      const conf = path.join(dir, `sentinel-${port}.conf`)
      await writeFile(
        conf,
        [
          `port ${port}`,
          `bind ${host}`,
          `dir ${dir}`,
          `sentinel monitor ${name} ${host} ${basePort} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      )
      servers.push(await Server.start(port, [conf, '--sentinel'], 'sentinel'))
    }
    await waitFor(
      'the sentinels to know the replica and each other',
      async () => {
        for (const port of sentinelPorts) {
          const [replicas, others] = await ask(port, async (c) => [
            (await c.call('SENTINEL', 'REPLICAS', name)) as unknown[],
            (await c.call('SENTINEL', 'SENTINELS', name)) as unknown[],
          ])
          if (replicas?.length !== 1 || others?.length !== 2) return false
        }
        return true
      },
      30_000,
    )
    const sentinels = sentinelPorts.map((p) => `${host}:${p}`).join(',')
    const primaryPort = async () => {
      const [, port] = (await ask(sentinelPorts[0] as number, (c) =>
        c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name),
      )) as [string, string]
      return Number(port)
    }
    return {
      name,
      env: { REDIS_SENTINELS: sentinels, REDIS_SENTINEL_NAME: name },
      testEnv: { TEST_REDIS_SENTINELS: sentinels, TEST_REDIS_SENTINEL_NAME: name },
      primaryPort,
      async killPrimary() {
        const before = await primaryPort()
        const victim = servers.find((s) => s.port === before)
        if (!victim) throw new Error(`no server of this set on ${before}`)
        await victim.stop('SIGKILL')
        return waitFor(
          'the sentinels to promote the replica',
          async () => {
            const now = await primaryPort()
            if (now === before) return false
            const role = await ask(now, (c) => c.info('replication')).catch(() => '')
            return role.includes('role:master') ? now : false
          },
          30_000,
        )
      },
      stop,
    }
  } catch (e) {
    await stop()
    throw e
  }
}

/** Three primaries on `basePort … basePort + 2` (no replicas), every slot assigned, ready when all say `ok`. */
export async function startRedisCluster(basePort: number): Promise<RedisTopology> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tongban-cluster-'))
  const servers: Server[] = []
  const stop = async () => {
    for (const s of servers.reverse()) await s.stop()
    await rm(dir, { recursive: true, force: true })
  }
  try {
    const ports = [basePort, basePort + 1, basePort + 2]
    for (const port of ports) {
      const args = ['--port', String(port), ...noPersistence, '--dir', dir, '--cluster-enabled', 'yes']
      args.push('--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000')
      servers.push(await Server.start(port, args, 'cluster node'))
    }
    const nodes = ports.map((p) => `${host}:${p}`)
    await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 30_000,
    })
    await waitFor(
      'every cluster node to say ok',
      async () => {
        for (const port of ports) {
          const info = (await ask(port, (c) => c.call('CLUSTER', 'INFO'))) as string
          if (!info.includes('cluster_state:ok')) return false
        }
        return true
      },
      30_000,
    )
    return {
      env: { REDIS_CLUSTER_NODES: nodes.join(',') },
      testEnv: { TEST_REDIS_CLUSTER_NODES: nodes.join(',') },
      stop,
    }
  } catch (e) {
    await stop()
    throw e
  }
}
