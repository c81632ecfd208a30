/**
 * `tongban doctor [--grace-seconds N] [--limit N]`: checks the no-stranded-case invariant against this
 * gateway's PostgreSQL and Redis. Lists every case that is not final and has nothing to move it (submitted
 * with no live dispatch job, delivery_failed with no open dead letter), one line per case with the reason;
 * exits 1 when it finds any, 0 when none, 1 also when PostgreSQL or Redis cannot be asked.
 */
import { parseArgs } from 'node:util'
import { loadConfig } from '../../config/env.js'
import { createLogger } from '../logger.js'
import { openStore } from '../main.js'
import { type Clock, systemClock } from '../ports/clock.js'
import { QueueProducer } from '../queue/producer.js'
import { findStrandedCases, STRANDED_GRACE_MS } from '../services/dispatch/stranded.js'
import type { Database } from '../store/db.js'
import { PgStrandedCaseStore } from '../store/stranded-store.js'

export interface DoctorDeps {
  database: Database
  producer: QueueProducer
  clock: Clock
  /** Where the report goes, a line at a time; default `console.log`. */
  print?: (line: string) => void
}

/** One check; returns the exit code (1 when a case is stranded). */
export async function runDoctor(deps: DoctorDeps, opts: { graceMs?: number; limit?: number } = {}): Promise<number> {
  const print = deps.print ?? ((line: string) => console.log(line))
  const graceMs = opts.graceMs ?? STRANDED_GRACE_MS
  const stranded = await findStrandedCases(
    {
      store: new PgStrandedCaseStore(deps.database),
      dispatchJob: (jobId) => deps.producer.jobState('case.dispatch', jobId),
      clock: deps.clock,
    },
    { graceMs, ...(opts.limit !== undefined ? { limit: opts.limit } : {}) },
  )
  // Not a stranded case, but worth an operator's eye: cases that shared a system client's externalRef before
  // migration 0019 made it unique (the oldest kept; docs/delivery.md).
  const [dups] = await deps.database.query<{ n: number }>('select count(*)::int as n from external_ref_duplicates', [])
  if (dups && dups.n > 0) {
    print(`提示：${dups.n} 件案件的 externalRef 与更早的案件重复 (see table external_ref_duplicates)`)
  }
  if (stranded.length === 0) {
    print(`正常：没有滞留案件 (no stranded case; cases changed in the last ${Math.round(graceMs / 1000)} s not judged)`)
    return 0
  }
  print(`发现 ${stranded.length} 件滞留案件 (stranded cases: nothing will move them):`)
  for (const s of stranded) print(`${s.caseId}\t${s.status}\t${s.why}`)
  print('处理：重新投递或查看死信 (re-drive: POST /v1/admin/dead-letters/{id}/redrive; see docs/delivery.md)')
  return 1
}

export async function doctorCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { 'grace-seconds': { type: 'string' }, limit: { type: 'string' } },
  })
  const number = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined
    const n = Number(v)
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} takes a whole number, not ${v}`)
    return n
  }
  const graceS = number('grace-seconds', values['grace-seconds'])
  const limit = number('limit', values.limit)
  const config = loadConfig()
  const logger = createLogger('warn')
  const { database } = await openStore(config, logger)
  const producer = new QueueProducer({ connection: config.redis.target, prefix: config.redis.jobPrefix })
  try {
    return await runDoctor(
      { database, producer, clock: systemClock },
      { ...(graceS !== undefined ? { graceMs: graceS * 1000 } : {}), ...(limit !== undefined ? { limit } : {}) },
    )
  } finally {
    await producer.close()
    await database.close()
  }
}
