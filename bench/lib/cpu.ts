/**
 * CPU time by process from /proc (Linux): where a benchmark's CPU went — the gateway, PostgreSQL,
 * Redis, the load generator. `snapshot()` before and after, `diff()` groups the ticks by process.
 */
import { readdirSync, readFileSync } from 'node:fs'

const TICKS_PER_S = 100

export type Snapshot = Map<number, { comm: string; ticks: number; ppid: number }>

export function snapshot(): Snapshot {
  const out: Snapshot = new Map()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      const comm = stat.slice(stat.indexOf('(') + 1, close)
      const fields = stat.slice(close + 2).split(' ')
      // ppid is field 4; utime and stime are fields 14 and 15 (counted from 1, comm is field 2).
      out.set(Number(entry), { comm, ticks: Number(fields[11]) + Number(fields[12]), ppid: Number(fields[1]) })
    } catch {
      // the process ended meanwhile
    }
  }
  return out
}

/**
 * The PID of the postmaster that started `serverPid` (a lasting server process such as the checkpointer, from
 * pg_stat_activity), so that a benchmark counts its own database server only, not the other PostgreSQL servers on
 * a shared machine.
 */
export function postmasterOf(serverPid: number): number | null {
  return snapshot().get(serverPid)?.ppid ?? null
}

/**
 * CPU seconds spent between two snapshots, per label; `label(pid, comm, ppid)` names a process or returns null to
 * skip it.
 */
export function diff(
  before: Snapshot,
  after: Snapshot,
  label: (pid: number, comm: string, ppid: number) => string | null,
): Map<string, number> {
  const sums = new Map<string, number>()
  for (const [pid, { comm, ticks, ppid }] of after) {
    const name = label(pid, comm, ppid)
    if (name === null) continue
    const spent = ticks - (before.get(pid)?.ticks ?? 0)
    if (spent > 0) sums.set(name, (sums.get(name) ?? 0) + spent / TICKS_PER_S)
  }
  return sums
}
