/**
 * The fault suite's own services: a Redis and a PostgreSQL started for it on free loopback ports, in
 * temporary directories, so that they can be killed, frozen and restarted without touching the machine's
 * shared ones. Each is stopped by `stop()`; nothing here ever signals a process it did not start.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import pg from 'pg'

const run = promisify(execFile)

function listenOn(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(port, '127.0.0.1', () => {
      const got = (s.address() as { port: number }).port
      s.close(() => resolve(got))
    })
  })
}

/** The ports `CHAOS_PORTS=LOW-HIGH` allows (a machine shared by several suites gives each its own range). */
function portRange(): { low: number; high: number } | undefined {
  const m = /^(\d+)-(\d+)$/.exec(process.env.CHAOS_PORTS ?? '')
  return m ? { low: Number(m[1]), high: Number(m[2]) } : undefined
}
let nextInRange = 0

/**
 * A port on 127.0.0.1 that nothing listens on at the moment of asking: any, or with `CHAOS_PORTS=LOW-HIGH`
 * the next free one in that range (handed out in turn, so two asks in a row get two ports).
 */
export async function freePort(): Promise<number> {
  const range = portRange()
  if (!range) return listenOn(0)
  const size = range.high - range.low + 1
  for (let tried = 0; tried < size; tried++) {
    const port = range.low + (nextInRange++ % size)
    const ok = await listenOn(port).catch(() => 0)
    if (ok) return ok
  }
  throw new Error(`no free port left in CHAOS_PORTS=${range.low}-${range.high}`)
}

/**
 * The first port of `size` consecutive ones on 127.0.0.1 that nothing listens on: within `CHAOS_PORTS` when
 * it is set, else from 20000 up.
 */
export async function freeBlock(size: number): Promise<number> {
  const range = portRange() ?? { low: 20_000, high: 40_000 }
  for (let base = range.low; base + size - 1 <= range.high; base += size) {
    let free = true
    for (let p = base; p < base + size && free; p++) free = (await listenOn(p).catch(() => 0)) === p
    if (free) return base
  }
  throw new Error(`no ${size} free consecutive ports in ${range.low}-${range.high}`)
}

/** Polls `f` until truthy or throws after `ms`, naming `what`. */
export async function until<T>(what: string, f: () => Promise<T | false | null | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await f().catch(() => undefined)
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

function binary(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, name)
    if (dir && existsSync(p)) return p
  }
  // Debian keeps the PostgreSQL server binaries off the PATH.
  const base = '/usr/lib/postgresql'
  if (existsSync(base)) {
    for (const v of readdirSync(base).sort().reverse()) {
      const p = path.join(base, v, 'bin', name)
      if (existsSync(p)) return p
    }
  }
  return undefined
}

/** What this machine lacks for the suite ('' when it has everything). */
export function missingTools(): string {
  const missing = ['redis-server', 'initdb', 'pg_ctl'].filter((b) => !binary(b))
  return missing.length ? `missing ${missing.join(', ')}` : ''
}

/** What the gateway and the suite need of a Redis deployment (one server, or a Sentinel set). */
export interface RedisSet {
  /** The gateway's Redis settings (`REDIS_URL`, or `REDIS_SENTINELS` and `REDIS_SENTINEL_NAME`). */
  env(): Record<string, string>
  /** A client of the suite's own (it reads what the gateway left there); the caller disconnects it. */
  client(): Redis
}

/** A Redis of the suite's own, with its append-only file on (as production runs it). */
export class OwnRedis implements RedisSet {
  private child?: ChildProcess
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(): Promise<OwnRedis> {
    const dir = await mkdtemp(path.join(tmpdir(), 'tongban-chaos-redis-'))
    const r = new OwnRedis(await freePort(), dir)
    await r.launch()
    return r
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  env(): Record<string, string> {
    return { REDIS_URL: this.url }
  }

  client(): Redis {
    const c = new Redis(this.url, { maxRetriesPerRequest: 3 })
    c.on('error', () => {})
    return c
  }

  async launch(): Promise<void> {
    const bin = binary('redis-server') as string
    const child = spawn(
      bin,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'yes'],
      { stdio: 'ignore' },
    )
    this.child = child
    await until('Redis to answer', () => this.ping(), 15_000)
  }

  private async ping(): Promise<boolean> {
    const c = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    c.on('error', () => {})
    try {
      await c.connect()
      return (await c.ping()) === 'PONG'
    } finally {
      c.disconnect()
    }
  }

  /** SIGKILL: whatever the append-only file had not written yet is gone. */
  async kill(): Promise<void> {
    const c = this.child
    if (!c || c.exitCode !== null || c.signalCode !== null) return
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve())
      c.kill('SIGKILL')
    })
  }

  freeze(): void {
    this.child?.kill('SIGSTOP')
  }

  thaw(): void {
    this.child?.kill('SIGCONT')
  }

  async stop(): Promise<void> {
    this.thaw()
    await this.kill()
    await rm(this.dir, { recursive: true, force: true })
  }
}

/**
 * A PostgreSQL cluster of the suite's own (initdb + pg_ctl), trust authentication on loopback. PostgreSQL
 * refuses to run as root, so as root its files belong to the `postgres` user and it runs as that user.
 */
export class OwnPostgres {
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(): Promise<OwnPostgres> {
    const dir = await mkdtemp(path.join(tmpdir(), 'tongban-chaos-pg-'))
    const p = new OwnPostgres(await freePort(), dir)
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres'])
      const { stdout: gid } = await run('id', ['-g', 'postgres'])
      await chown(dir, Number(stdout.trim()), Number(gid.trim()))
    }
    await chmod(dir, 0o700)
    await p.pg('initdb', ['-D', path.join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'])
    await p.launch()
    return p
  }

  private pg(tool: string, args: string[]) {
    const bin = binary(tool) as string
    if (process.getuid?.() === 0) return run('runuser', ['-u', 'postgres', '--', bin, ...args], { cwd: '/' })
    return run(bin, args)
  }

  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`
  }

  async launch(): Promise<void> {
    const opts = `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.dir} -c fsync=off -c max_connections=200`
    await this.pg('pg_ctl', [
      '-D',
      path.join(this.dir, 'data'),
      '-o',
      opts,
      '-l',
      path.join(this.dir, 'log'),
      '-w',
      'start',
    ])
  }

  /** `pg_ctl stop -m immediate`: every backend dies at once, as in a crash; recovery runs at the next start. */
  async crash(): Promise<void> {
    await this.pg('pg_ctl', ['-D', path.join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']).catch(() => {})
  }

  async createDatabase(name: string): Promise<string> {
    const c = new pg.Client({ connectionString: this.url() })
    await c.connect()
    try {
      await c.query(`CREATE DATABASE ${name}`)
    } finally {
      await c.end()
    }
    return this.url(name)
  }

  async query<T = Record<string, unknown>>(database: string, text: string, params: unknown[] = []): Promise<T[]> {
    const c = new pg.Client({ connectionString: this.url(database) })
    await c.connect()
    try {
      return (await c.query(text, params)).rows as T[]
    } finally {
      await c.end()
    }
  }

  async stop(): Promise<void> {
    await this.crash()
    await rm(this.dir, { recursive: true, force: true })
  }
}
