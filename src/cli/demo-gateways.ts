/**
 * The demo's processes: a gateway started as `tongban serve` on an embedded database of its own, the admin
 * API called as it, and the Redis keys of a queue prefix removed at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'

const cli = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../cli.ts' : '../cli.js', import.meta.url))
const nodeArgs = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : []

export interface Gw {
  id: string
  url: string
  env: Record<string, string>
  child: ChildProcess
  admin: string
  security: string
}

function run(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, cli, ...args], {
      env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      err += d
    })
    child.on('exit', (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`tongban ${args.join(' ')}: ${err}`)),
    )
  })
}

export async function startGateway(
  id: string,
  dir: string,
  prefix: string,
  extra: Record<string, string> = {},
): Promise<Gw> {
  const env = {
    ...extra,
    GATEWAY_ID: id,
    TONGBAN_DATA_DIR: dir,
    DATABASE_URL: '',
    QUEUE_PREFIX: prefix,
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: redisUrl(),
  }
  // The embedded database belongs to one process at a time: tokens first, then the gateway.
  const admin = await run(['tokens', 'create', '--role', 'admin', '--name', 'demo'], env)
  // People's tokens are the security administrator's (docs/audit.md).
  const security = await run(['tokens', 'create', '--role', 'security', '--name', 'demo'], env)
  const child = spawn(process.execPath, [...nodeArgs, cli, 'serve'], {
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
  })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    const onData = (d: Buffer) => {
      out += d
      const m = /"port":(\d+)[^\n]*"msg":"gateway listening"/.exec(out)
      if (m) {
        child.stdout?.off('data', onData)
        child.stdout?.resume()
        child.stderr?.resume()
        resolve(`http://127.0.0.1:${m[1]}`)
      }
    }
    child.stdout?.on('data', onData)
    child.on('exit', (code) => reject(new Error(`${id} exited (${code}):\n${out.slice(-2000)}`)))
  })
  return { id, url, env, child, admin, security }
}

export interface Answer {
  token?: string
  case?: {
    id: string
    scope: string
    dueDate: string
    agreement: { id: string; version: number } | null
    children?: { id: string; processingRegion: string }[]
  }
  events?: { type: string; at: string; actor: string; data: Record<string, unknown> }[]
  detail?: string
  status?: string
  results?: unknown[]
}

export async function api(
  gw: Gw,
  method: string,
  p: string,
  body?: unknown,
  token = gw.admin,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${gw.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  const text = await res.text()
  const parsed = (text ? JSON.parse(text) : {}) as Answer
  if (res.status >= 400) throw new Error(`${method} ${p} at ${gw.id}: ${res.status} ${parsed.detail ?? text}`)
  return parsed
}

const redisUrl = () => process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Deletes every Redis key under `prefix:` (SCAN + UNLINK, bounded); returns how many. */
export async function removeKeys(prefix: string): Promise<number> {
  const redis = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 })
  let removed = 0
  try {
    await redis.connect()
    let cursor = '0'
    for (let round = 0; round < 10_000; round++) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500)
      if (keys.length > 0) removed += await redis.unlink(...keys)
      cursor = next
      if (cursor === '0') break
    }
  } finally {
    redis.disconnect()
  }
  return removed
}
