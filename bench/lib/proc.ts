/** Child processes for benchmarks: servers that announce their port, and the load generator. */
import { type ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
// node with tsx's loader in-process (not the tsx CLI, which would put a wrapper process between us and the gateway:
// a SIGKILL would then leave the gateway running).
const node = [process.execPath, '--import', 'tsx'] as const

export interface Server {
  url: string
  child: ChildProcess
  stop(): Promise<void>
}

/** Starts a TypeScript entry point and waits for `pattern` (with the port as group 1) on its output. */
export function startServer(
  entry: string,
  args: string[],
  env: Record<string, string>,
  pattern: RegExp,
): Promise<Server> {
  return new Promise((resolve, reject) => {
    // BENCH_PROFILE_DIR: write a CPU profile of each gateway (src/cli.ts) to that folder when it stops.
    const profile =
      process.env.BENCH_PROFILE_DIR && entry === 'src/cli.ts'
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
        : []
    const child = spawn(node[0], [...profile, ...node.slice(1), path.join(root, entry), ...args], {
      cwd: root,
      env: { ...process.env, ...env },
    })
    let out = ''
    const timer = setTimeout(() => reject(new Error(`${entry} did not start:\n${out}`)), 60_000)
    const onData = (d: Buffer) => {
      out += d
      const m = pattern.exec(out)
      if (m) {
        clearTimeout(timer)
        // Keep draining the server's output (its request logs) without keeping it in memory.
        child.stdout?.off('data', onData)
        child.stderr?.off('data', onData)
        child.stdout?.resume()
        child.stderr?.resume()
        resolve({
          url: `http://127.0.0.1:${m[1]}`,
          child,
          stop: () =>
            new Promise((res) => {
              if (child.exitCode !== null) return res()
              child.once('exit', () => res())
              child.kill('SIGTERM')
            }),
        })
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`${entry} exited (${code}) before it listened:\n${out}`)))
  })
}

export interface LoadResult {
  requests: number
  errors: number
  statuses: Record<string, number>
  rps: number
  p50Ms: number
  p99Ms: number
  meanMs: number
  preparedLeft: number | null
  /** The load generator's own CPU, warm-up included. */
  cpuSeconds: number
}

export function runLoad(job: Record<string, unknown>): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(node[0], [...node.slice(1), path.join(root, 'bench/lib/load.ts'), JSON.stringify(job)], {
      cwd: root,
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      err += d
    })
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator failed (${code}): ${err}`))
      resolve(JSON.parse(out.trim().split('\n').at(-1) as string) as LoadResult)
    })
  })
}

export const fmt = (r: LoadResult) =>
  `${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50Ms.toFixed(2).padStart(6)} ms  p99 ${r.p99Ms.toFixed(2).padStart(6)} ms  (${r.requests} requests, ${r.errors} errors, statuses ${JSON.stringify(r.statuses)})`
