/**
 * A first start without Redis: when `REDIS_URL` is unset, nothing answers on the default address and a
 * `redis-server` binary is on the PATH, the gateway runs a private one under its data directory
 * (`appendonly yes`, bound to 127.0.0.1 only, on a free port written to `redis/port`), stops it with the
 * gateway, and on the next start uses the same data again (or the same server, if one still runs there:
 * a `tongban worker` beside `tongban serve` shares it and does not stop it). Never when `REDIS_URL` is set.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { constants } from 'node:fs'
import { access, mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, Socket } from 'node:net'
import path from 'node:path'
import type { Logger } from '../logger.js'

export interface PrivateRedis {
  url: string
  /** Stops the server if this process started it; idempotent. */
  stop(): Promise<void>
}

/**
 * @param probeUrl the default address (`redis://127.0.0.1:6379`): if anything answers there, it is used.
 * @returns the private server, or undefined (something answers on the default address, or no redis-server).
 */
export async function startPrivateRedis(opts: {
  probeUrl: string
  dataDir: string
  logger: Logger
  readyTimeoutMs?: number
}): Promise<PrivateRedis | undefined> {
  const probe = new URL(opts.probeUrl)
  if (await answersPing(probe.hostname || '127.0.0.1', Number(probe.port || 6379))) return undefined
  const binary = await findOnPath('redis-server')
  if (binary === undefined) return undefined
  const dir = path.join(opts.dataDir, 'redis')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const portFile = path.join(dir, 'port')
  const previous = Number((await readFile(portFile, 'utf8').catch(() => '')).trim())
  if (previous > 0 && (await answersPing('127.0.0.1', previous))) {
    opts.logger.info({ port: previous, dir }, 'using the private redis-server already running in the data directory')
    return { url: `redis://127.0.0.1:${previous}`, stop: async () => {} }
  }
  const port = await freePort()
  const child = spawn(
    binary,
    [
      ...['--bind', '127.0.0.1', '--port', String(port), '--protected-mode', 'yes', '--dir', dir],
      ...['--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction', '--daemonize', 'no'],
    ],
    { stdio: 'ignore' },
  )
  const until = Date.now() + (opts.readyTimeoutMs ?? 10_000)
  while (!(await answersPing('127.0.0.1', port))) {
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGKILL')
      opts.logger.warn({ binary, dir }, 'a private redis-server did not start; set REDIS_URL')
      return undefined
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  await writeFile(portFile, `${port}\n`)
  opts.logger.info(
    { port, dir },
    `no Redis at ${probe.host} and REDIS_URL unset: started a private redis-server on 127.0.0.1:${port} (data in ${dir}); it stops with the gateway. In production, set REDIS_URL`,
  )
  let stopping: Promise<void> | undefined
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => {
      stopping ??= stopChild(child)
      return stopping
    },
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    // redis-server writes its append-only file and exits on SIGTERM; SIGKILL after 10 s.
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

/** Whether a Redis answers `PING` on host:port within 500 ms (a raw socket: no client, no retries). */
function answersPing(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket()
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.once('data', (d) => done(/^(\+PONG|-NOAUTH|-ERR)/.test(d.toString())))
    socket.connect(port, host, () => socket.write('PING\r\n'))
  })
}

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name)
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate
  }
  return undefined
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}
