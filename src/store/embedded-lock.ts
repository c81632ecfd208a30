/**
 * One owner for the embedded database: the process that opens `${dataDir}/pglite` holds
 * `${dataDir}/embedded.lock`, a file created atomically (`O_EXCL`) holding its pid and role. Two PGlite
 * engines on one data directory lose each other's writes and corrupt it; this lock is what prevents that.
 *
 * A lock whose pid is gone (the holder was killed) or is this process's own pid without this process
 * holding it (a container restarted and got the same pid) is stale and taken over.
 */
import { mkdir, open, readFile, unlink } from 'node:fs/promises'
import path from 'node:path'

/** Who holds the lock: the gateway (`serve`, `worker`), which shares the database over its socket, or a tool (a CLI verb). */
export type LockRole = 'gateway' | 'tool'

export interface LockHolder {
  pid: number
  role: LockRole
  since: string
}

export interface EmbeddedLock {
  file: string
  /** Removes the lock file if it is still this process's; idempotent. */
  release(): Promise<void>
}

/** Locks this process holds, by lock file: a second open in the same process must see its own hold. */
const heldHere = new Map<string, LockHolder>()

/** The lock file of a data directory. */
export function lockFileOf(dataDir: string): string {
  return path.join(dataDir, 'embedded.lock')
}

function alive(pid: number): boolean {
  if (pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function readHolder(file: string): Promise<LockHolder | null> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw e
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>
    if (typeof parsed.pid === 'number' && Number.isInteger(parsed.pid) && parsed.pid > 0) {
      return {
        pid: parsed.pid,
        role: parsed.role === 'gateway' ? 'gateway' : 'tool',
        since: String(parsed.since ?? ''),
      }
    }
  } catch {}
  // Half written (the holder died between create and write) or foreign: treat as stale.
  return { pid: 0, role: 'tool', since: '' }
}

/**
 * Takes the lock of `dataDir` for this process, or returns the live holder when another process has it.
 * A stale lock is removed and taken; every attempt is bounded (a few tries against racing processes).
 *
 * @example
 * const lock = await lockDataDir(dataDir, 'gateway')
 * if ('pid' in lock) throw new Error(`held by pid ${lock.pid}`)
 * … await lock.release()
 */
export async function lockDataDir(dataDir: string, role: LockRole): Promise<EmbeddedLock | LockHolder> {
  await mkdir(dataDir, { recursive: true })
  const file = lockFileOf(dataDir)
  const own = heldHere.get(file)
  if (own) return own
  const mine: LockHolder = { pid: process.pid, role, since: new Date().toISOString() }
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600)
      try {
        await handle.writeFile(`${JSON.stringify(mine)}\n`)
      } finally {
        await handle.close()
      }
      let released = false
      heldHere.set(file, mine)
      return {
        file,
        async release() {
          if (released) return
          released = true
          heldHere.delete(file)
          const holder = await readHolder(file).catch(() => null)
          if (holder?.pid === process.pid) await unlink(file).catch(() => {})
        },
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    const holder = await readHolder(file)
    if (holder === null) continue
    if (holder.pid !== 0 && alive(holder.pid)) return holder
    // Stale: remove it, unless another process replaced it meanwhile (then look again).
    const again = await readHolder(file)
    if (again && again.pid === holder.pid && again.since === holder.since) await unlink(file).catch(() => {})
  }
  const holder = await readHolder(file)
  if (holder && holder.pid !== 0) return holder
  throw new Error(`cannot take the lock ${file}: other processes keep replacing it`)
}

/** Whether `lockDataDir` answered with a holder rather than the lock. */
export function isHolder(x: EmbeddedLock | LockHolder): x is LockHolder {
  return 'pid' in x
}
