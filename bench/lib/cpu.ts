/**
 * CPU time by process from /proc (Linux): where a benchmark's CPU went — the gateway, PostgreSQL,
 * Redis, the load generator. `snapshot()` before and after, `diff()` groups the ticks by process.
 */
import { readdirSync, readFileSync } from 'node:fs'

const TICKS_PER_S = 100

export type Snapshot = Map<number, { comm: string; ticks: number }>

export function snapshot(): Snapshot {
  const out: Snapshot = new Map()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      const comm = stat.slice(stat.indexOf('(') + 1, close)
      const fields = stat.slice(close + 2).split(' ')
      // utime and stime are fields 14 and 15 of /proc/PID/stat (counted from 1, comm is field 2).
      out.set(Number(entry), { comm, ticks: Number(fields[11]) + Number(fields[12]) })
    } catch {
      // the process ended meanwhile
    }
  }
  return out
}

/** CPU seconds spent between two snapshots, per label; `label(pid, comm)` names a process or returns null to skip it. */
export function diff(
  before: Snapshot,
  after: Snapshot,
  label: (pid: number, comm: string) => string | null,
): Map<string, number> {
  const sums = new Map<string, number>()
  for (const [pid, { comm, ticks }] of after) {
    const name = label(pid, comm)
    if (name === null) continue
    const spent = ticks - (before.get(pid)?.ticks ?? 0)
    if (spent > 0) sums.set(name, (sums.get(name) ?? 0) + spent / TICKS_PER_S)
  }
  return sums
}
