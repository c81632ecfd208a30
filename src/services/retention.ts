/**
 * What the gateway stops keeping: uploaded files that no case uses (scans of identity cards and the like,
 * kept for the cases and not for ever) once nobody uploaded or referenced them for
 * FILE_UNUSED_RETENTION_HOURS, idempotency answers past their 24 h (kept twice that, then deleted), and the
 * assertion jtis of submissions once their assertions expired.
 * Cases, their events, results and the files they reference are never deleted here.
 */
import type { Logger } from '../logger.js'
import type { CaseStore } from '../ports/case-store.js'
import type { Clock } from '../ports/clock.js'
import type { FileStore } from '../ports/file-store.js'
import { IDEMPOTENCY_TTL_MS } from './cases/create.js'
import type { Ctx } from './context.js'

export interface RetentionDeps {
  files: Pick<FileStore, 'prune'>
  cases: Pick<CaseStore, 'pruneIdempotency' | 'pruneJtis'>
  clock: Clock
  logger: Logger
  /** A file that no case references is deleted this long after its last upload or reference. */
  fileUnusedHours: number
}

export interface PruneReport {
  files: number
  bytes: number
  idempotencyKeys: number
  dryRun: boolean
}

/** Idempotency answers are honoured for 24 h and deleted after twice that. */
export const IDEMPOTENCY_KEEP_MS = 2 * IDEMPOTENCY_TTL_MS
/** Rows deleted per statement: a long backlog goes in short transactions. */
const BATCH = 500

/** Deletes unused files and expired idempotency answers in short batches; `dryRun` only counts them. */
export async function pruneStorage(
  { deps }: Ctx<RetentionDeps, null>,
  opts: { dryRun?: boolean } = {},
): Promise<PruneReport> {
  const dryRun = opts.dryRun ?? false
  const report: PruneReport = { files: 0, bytes: 0, idempotencyKeys: 0, dryRun }
  const unusedSeconds = deps.fileUnusedHours * 3600
  for (;;) {
    const batch = await deps.files.prune({ unusedSeconds, limit: dryRun ? 1_000_000 : BATCH, dryRun })
    report.files += batch.files
    report.bytes += batch.bytes
    if (dryRun || batch.files < BATCH) break
  }
  const before = new Date(deps.clock.now().getTime() - IDEMPOTENCY_KEEP_MS)
  for (;;) {
    const n = await deps.cases.pruneIdempotency(before, dryRun ? 1_000_000_000 : BATCH, dryRun)
    report.idempotencyKeys += n
    if (dryRun || n < BATCH) break
  }
  // Assertion jtis recorded in PostgreSQL, once their assertion can no longer be accepted (not in the report:
  // they are no one's data). Bounded: a backlog beyond it waits for the next run.
  let jtis = 0
  for (let i = 0; !dryRun && i < 100; i++) {
    const n = await deps.cases.pruneJtis(deps.clock.now(), BATCH)
    jtis += n
    if (n < BATCH) break
  }
  if (jtis > 0) deps.logger.debug({ jtis }, 'retention: deleted expired assertion jtis')
  if (!dryRun && (report.files > 0 || report.idempotencyKeys > 0)) {
    deps.logger.info(
      { files: report.files, bytes: report.bytes, idempotencyKeys: report.idempotencyKeys },
      'retention: deleted unused files and expired idempotency answers',
    )
  }
  return report
}
