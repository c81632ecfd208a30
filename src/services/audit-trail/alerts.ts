/**
 * The audit trail's alert figures: repeated failed sign-ins from one source address, and administrative
 * actions outside working hours (when `AUDIT_WORKING_HOURS` is set).
 */
import type { AuditRecord } from '../../domain/audit-trail.js'
import type { AuditTrailStore } from '../../ports/audit-trail-store.js'

export const SIGNIN_WINDOW_MS = 15 * 60_000
export const OFF_HOURS_WINDOW_MS = 60 * 60_000

/** `HH:MM-HH:MM` in minutes of the day. */
export function parseWorkingHours(spec: string): { from: number; to: number } {
  const [a, b] = spec.split('-') as [string, string]
  const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5))
  return { from: minutes(a), to: minutes(b) }
}

/** Whether `at` is outside Monday–Friday `hours` in China Standard Time (UTC+8, no daylight saving). */
export function outsideWorkingHours(at: Date, hours: { from: number; to: number }): boolean {
  const cst = new Date(at.getTime() + 8 * 3600_000)
  const day = cst.getUTCDay()
  const minute = cst.getUTCHours() * 60 + cst.getUTCMinutes()
  return day === 0 || day === 6 || minute < hours.from || minute >= hours.to
}

/** An action a person or the CLI did (not a refusal, not signing in or out, not the gateway's own). */
function isAdministrativeAct(r: AuditRecord): boolean {
  return (
    r.outcome === 'done' && (r.actor.kind === 'person' || r.actor.kind === 'cli') && !r.action.startsWith('session.')
  )
}

export async function auditAlertFigures(opts: {
  store: AuditTrailStore
  now: Date
  signinThreshold: number
  workingHours?: string | undefined
}): Promise<{ signinFailures: number; offHours: number }> {
  const failures = await opts.store.failedSignInsSince(new Date(opts.now.getTime() - SIGNIN_WINDOW_MS))
  const signinFailures = failures.filter((f) => f.count >= opts.signinThreshold).reduce((n, f) => n + f.count, 0)
  let offHours = 0
  if (opts.workingHours) {
    const hours = parseWorkingHours(opts.workingHours)
    const recent = await opts.store.list({ from: new Date(opts.now.getTime() - OFF_HOURS_WINDOW_MS) }, null, 1000)
    offHours = recent.filter((r) => isAdministrativeAct(r) && outsideWorkingHours(r.at, hours)).length
  }
  return { signinFailures, offHours }
}
