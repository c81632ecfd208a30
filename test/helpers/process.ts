/**
 * Runs the real `tongban` command as a child process (through tsx), for end-to-end tests.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
// node with tsx's loader in-process (not the tsx CLI, which would put a wrapper process between us and the gateway:
// a SIGKILL would then leave the gateway running).
const node = [process.execPath, '--import', 'tsx'] as const
const cli = path.join(repoRoot, 'src', 'cli.ts')

export interface Gateway {
  url: string
  child: ChildProcess
  output: () => string
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** Runs `tongban ARGS` to completion: { code, stdout, stderr }. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(node[0], [...node.slice(1), cli, ...args], {
      cwd: repoRoot,
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

const started = new Set<ChildProcess>()

/** Kills every gateway this file started that is still running (call it in `afterAll`, so a failed test leaks none). */
export async function stopAllGateways(): Promise<void> {
  await Promise.all(
    [...started].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          child.once('exit', () => resolve())
          child.kill('SIGKILL')
        }),
    ),
  )
  started.clear()
}

/** Starts `tongban serve` on a free port and resolves once it logs that it listens. */
export function startGateway(env: Record<string, string>, timeoutMs = 90_000): Promise<Gateway> {
  return new Promise((resolve, reject) => {
    const child = spawn(node[0], [...node.slice(1), cli, 'serve'], {
      cwd: repoRoot,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    })
    started.add(child)
    child.once('exit', () => started.delete(child))
    let out = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`gateway did not start within ${timeoutMs} ms:\n${out}`))
    }, timeoutMs)
    const onData = (d: Buffer) => {
      out += d
      const m = /"port":(\d+)[^\n]*"msg":"gateway listening"/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve({
          url: `http://127.0.0.1:${m[1]}`,
          child,
          output: () => out,
          stop: (signal = 'SIGTERM') =>
            new Promise((res) => {
              if (child.exitCode !== null) return res(child.exitCode)
              // 'close', not 'exit': by then its output is read to the end.
              child.once('close', (code) => res(code))
              child.kill(signal)
            }),
        })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`gateway exited with ${code} before listening:\n${out}`))
    })
  })
}
