/**
 * A gateway for a benchmark: a fresh PostgreSQL database, a random queue prefix, a temporary data
 * directory, an admin token from the CLI; everything removed by `cleanup()`.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import pg from 'pg'
import { root, type Server, startServer } from './proc.js'

export const adminUrl = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
export const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'

export async function sql(url: string, text: string, params: unknown[] = []) {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return (await c.query(text, params)).rows
  } finally {
    await c.end()
  }
}

export interface BenchGateway extends Server {
  env: Record<string, string>
  /** Worker processes (WORKERS > 1): children of the gateway process. */
  workerPids(): number[]
  databaseUrl: string
  prefix: string
  cleanup(): Promise<void>
}

export function cli(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli.ts'), ...args], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      err += d
    })
    child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`tongban ${args[0]}: ${err}`))))
  })
}

export async function startBenchGateway(name: string, extraEnv: Record<string, string> = {}): Promise<BenchGateway> {
  const db = `tongban_bench_${name}_${Math.random().toString(36).slice(2, 8)}`
  await sql(adminUrl, `CREATE DATABASE ${db}`)
  const u = new URL(adminUrl)
  u.pathname = `/${db}`
  const databaseUrl = u.toString()
  const dataDir = await mkdtemp(path.join(tmpdir(), `tongban-bench-${name}-`))
  const prefix = `tbbench-${name}-${Math.random().toString(36).slice(2, 8)}`
  const env = {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    GATEWAY_ID: `gw-${name}`,
    TONGBAN_DATA_DIR: dataDir,
    // A benchmark is one client sending far more than a city's traffic: the per-caller limits would measure themselves.
    RATE_LIMIT_CLIENT: 'off',
    RATE_LIMIT_PERSON: 'off',
    ...extraEnv,
  }
  await cli(['migrate'], env)
  const server = await startServer('src/cli.ts', ['serve'], env, /"port":(\d+)[^\n]*"msg":"gateway listening"/)
  return {
    ...server,
    env,
    workerPids() {
      try {
        return readFileSync(`/proc/${server.child.pid}/task/${server.child.pid}/children`, 'utf8')
          .trim()
          .split(/\s+/)
          .filter(Boolean)
          .map(Number)
      } catch {
        return []
      }
    },
    databaseUrl,
    prefix,
    async cleanup() {
      await server.stop()
      await sql(adminUrl, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`)
      await rm(dataDir, { recursive: true, force: true })
      const redis = new Redis(redisUrl)
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
        cursor = next
        if (keys.length) await redis.unlink(...keys)
      } while (cursor !== '0')
      redis.disconnect()
    },
  }
}
