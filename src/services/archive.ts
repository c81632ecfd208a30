/**
 * Archiving a month of cases (docs/scale.md): the month's partitions are exported to a file that can be
 * verified offline, then detached. The file is JSON Lines:
 *
 * 1. a header `{ format, gateway, month, exportedAt, keys }` (`keys`: the gateway's public JWKS when exported);
 * 2. one line per case `{ case, events, related, inclusion }`: the stored row, its timeline, the rows of other
 *    tables that pointed to it (deleted from the database with the detach), and the inclusion proof of its
 *    newest checkpointed chain head in a signed checkpoint (null when no checkpoint covers it);
 * 3. a trailer `{ end: true, cases, events, sha256 }`, the SHA-256 of every line before it (with their
 *    newlines), so a truncated or edited file is found.
 *
 * `verifyArchive` re-computes every hash chain and checks each inclusion proof against the checkpoint's
 * signature, with the gateway's published keys when given (else the header's, which proves integrity, not
 * origin). The file holds personal data (names, encrypted identity numbers): it is kept as the cases were.
 */
import { createHash } from 'node:crypto'
import { type ChainEvent, verifyChain } from '../domain/hash-chain.js'
import type { Jwks } from '../domain/key-revocation.js'
import { AppError } from '../errors.js'
import type { CaseArchiveStore } from '../ports/case-partitions.js'
import type { CheckpointStore } from '../ports/checkpoint-store.js'
import { type CheckpointInclusion, inclusionOf, inclusionProblems } from './checkpoints/inclusion.js'
import type { Ctx } from './context.js'
import { cstMonth } from './partitions.js'

export const ARCHIVE_FORMAT = 'tongban-archive/1'
const PAGE = 500

export interface ArchiveHeader {
  format: typeof ARCHIVE_FORMAT
  gateway: string
  month: string
  exportedAt: string
  keys: Jwks
}

/** The months `retentionMonths` or more before the current CST month that are still attached, oldest first. */
export function monthsToArchive(months: readonly string[], now: Date, retentionMonths: number): string[] {
  if (retentionMonths <= 0) return []
  const limit = cstMonth(now, -retentionMonths)
  return months.filter((m) => m < limit)
}

export interface ExportDeps {
  archive: Pick<CaseArchiveStore, 'readMonth' | 'fingerprint'>
  checkpoints: Pick<CheckpointStore, 'newestLeafOf' | 'get' | 'leaves'>
  gatewayId: string
  keys: Jwks
  now: Date
}

/** Writes the export of `month` line by line through `write`; returns what it wrote and the month's fingerprint. */
export async function exportMonth(
  { deps }: Ctx<ExportDeps, null>,
  {
    month,
    write,
    progress = () => {},
  }: { month: string; write: (line: string) => Promise<void>; progress?: (cases: number) => void },
) {
  const before = await deps.archive.fingerprint(month)
  const digest = createHash('sha256')
  const emit = async (value: unknown) => {
    const line = `${JSON.stringify(value)}\n`
    digest.update(line, 'utf8')
    await write(line)
  }
  const header: ArchiveHeader = {
    format: ARCHIVE_FORMAT,
    gateway: deps.gatewayId,
    month,
    exportedAt: deps.now.toISOString(),
    keys: deps.keys,
  }
  await emit(header)
  // A checkpoint's leaves are read once, however many of the month's cases it covers.
  const leaves = new Map<number, ReturnType<typeof deps.checkpoints.leaves>>()
  const checkpoints: ExportDeps['checkpoints'] = {
    newestLeafOf: (caseId, maxSeq) => deps.checkpoints.newestLeafOf(caseId, maxSeq),
    get: (seq) => deps.checkpoints.get(seq),
    leaves: (seq) => {
      if (!leaves.has(seq)) leaves.set(seq, deps.checkpoints.leaves(seq))
      return leaves.get(seq) as ReturnType<typeof deps.checkpoints.leaves>
    },
  }
  let cases = 0
  let events = 0
  let after: string | null = null
  for (;;) {
    const page = await deps.archive.readMonth(month, after, PAGE)
    for (const c of page) {
      const inclusion = await inclusionOf(checkpoints as CheckpointStore, c.id, 2_147_483_647)
      await emit({ case: c.row, events: c.events, related: c.related, inclusion })
      cases += 1
      events += c.events.length
    }
    progress(cases)
    if (page.length < PAGE) break
    after = page[page.length - 1]?.id ?? null
  }
  const after_ = await deps.archive.fingerprint(month)
  if (after_.cases !== before.cases || after_.events !== before.events || after_.lastUpdate !== before.lastUpdate) {
    throw new AppError('conflict', `month ${month} changed while it was exported: export it again`)
  }
  if (cases !== before.cases || events !== before.events) {
    throw new AppError(
      'internal',
      `month ${month}: ${cases} cases and ${events} events read, ${before.cases} and ${before.events} held`,
    )
  }
  await write(`${JSON.stringify({ end: true, cases, events, sha256: digest.digest('hex') })}\n`)
  return { cases, events, fingerprint: before }
}

export interface ArchiveProblem {
  where: string
  problem: string
}

export interface ArchiveVerdict {
  valid: boolean
  /** Where the gateway's keys came from: `trusted` (given by the verifier) or `file` (the header's). */
  anchor: 'trusted' | 'file'
  gateway: string | null
  month: string | null
  cases: number
  events: number
  /** Cases whose chain head is proven under a signed checkpoint. */
  anchored: number
  problems: ArchiveProblem[]
}

/** A stored event row (`to_jsonb(case_events)`) as the hash chain reads it. */
function chainEventOf(e: Record<string, unknown>): ChainEvent & { hash: string } {
  return {
    caseId: String(e.case_id),
    seq: Number(e.seq),
    type: String(e.type),
    at: new Date(String(e.at)),
    actor: String(e.actor),
    data: (e.data ?? {}) as Record<string, unknown>,
    prevHash: String(e.prev_hash),
    hash: String(e.hash),
    hashAlg: e.hash_alg === 'sm3' ? 'sm3' : 'sha256',
  }
}

/** Checks an export's lines (the file split on newlines) offline; `trusted`: the gateway's published JWKS. */
export function verifyArchive(text: string, trusted: Jwks | null): ArchiveVerdict {
  const problems: ArchiveProblem[] = []
  const verdict: ArchiveVerdict = {
    valid: false,
    anchor: trusted ? 'trusted' : 'file',
    gateway: null,
    month: null,
    cases: 0,
    events: 0,
    anchored: 0,
    problems,
  }
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  const parsed = lines.map((line, i) => {
    try {
      return JSON.parse(line) as Record<string, unknown>
    } catch {
      problems.push({ where: `line ${i + 1}`, problem: 'not JSON' })
      return null
    }
  })
  const header = parsed[0] as Partial<ArchiveHeader> | null | undefined
  const trailer = parsed.at(-1) as { end?: boolean; cases?: number; events?: number; sha256?: string } | null
  if (header?.format !== ARCHIVE_FORMAT) {
    problems.push({ where: 'line 1', problem: `not a ${ARCHIVE_FORMAT} header` })
    return verdict
  }
  verdict.gateway = String(header.gateway)
  verdict.month = String(header.month)
  if (lines.length < 2 || trailer?.end !== true) {
    problems.push({ where: `line ${lines.length}`, problem: 'no trailer: the file is truncated' })
    return verdict
  }
  const digest = createHash('sha256')
  for (const line of lines.slice(0, -1)) digest.update(`${line}\n`, 'utf8')
  if (digest.digest('hex') !== trailer.sha256) {
    problems.push({ where: 'trailer', problem: 'sha256 does not match the lines before it: the file was changed' })
  }
  const jwks = trusted ?? (header.keys as Jwks | undefined) ?? null
  parsed.slice(1, -1).forEach((entry, i) => {
    const where = `line ${i + 2}`
    const row = entry?.case as Record<string, unknown> | undefined
    const events = (entry?.events ?? []) as Record<string, unknown>[]
    if (!row || typeof row.id !== 'string') {
      problems.push({ where, problem: 'no case row' })
      return
    }
    const id = row.id
    verdict.cases += 1
    verdict.events += events.length
    const chain = events.map(chainEventOf)
    const chained = verifyChain(id, chain, { lastSeq: Number(row.last_seq) })
    if (!chained.ok) problems.push({ where: `${where} case ${id} event seq=${chained.seq}`, problem: chained.reason })
    const inclusion = entry?.inclusion as CheckpointInclusion | null | undefined
    if (!inclusion) {
      problems.push({ where: `${where} case ${id}`, problem: 'no signed checkpoint covers this case' })
      return
    }
    const heads = new Map(chain.map((e) => [e.seq, e.hash]))
    const found = inclusionProblems(inclusion, { gateway: String(header.gateway), caseId: id, heads, jwks })
    for (const p of found) problems.push({ where: `${where} case ${id} ${p.where}`, problem: p.problem })
    if (found.length === 0) verdict.anchored += 1
  })
  if (trailer.cases !== verdict.cases || trailer.events !== verdict.events) {
    problems.push({
      where: 'trailer',
      problem: `says ${trailer.cases} cases and ${trailer.events} events, the file holds ${verdict.cases} and ${verdict.events}`,
    })
  }
  verdict.valid = problems.length === 0
  return verdict
}
