/**
 * `tongban audit verify` against the checkpoints: every stored checkpoint must carry this
 * gateway's signature (so a rewritten `checkpoints` table fails), link to the one before, and have the root
 * of its stored leaves; every leaf must still be the hash of the stored event at its seq (the first that is
 * not names the case and the event that was changed); and with witnesses, every copy a witness holds must
 * be here unchanged.
 */
import { AUDIT_LEAF_ID } from '../../domain/audit-trail.js'
import { chainHeadLeafHash, merkleRoot } from '../../domain/merkle.js'
import type { CheckpointStore, StoredCheckpoint } from '../../ports/checkpoint-store.js'
import type { Ctx } from '../context.js'
import { CHECKPOINT_TYP, CheckpointClaims, checkpointHash, FIRST_PREV } from './claims.js'

export interface CheckpointFinding {
  /** `checkpoint 3`, `case 019… event 5`, `witness https://…` */
  where: string
  problem: string
  caseId?: string
  seq?: number
}

/** A witness's copies of this gateway's checkpoints (`GET /v1/checkpoints/{gatewayId}` at the witness). */
export interface WitnessCopies {
  witness: string
  copies: { seq: number; jws: string }[]
}

export interface CheckpointAuditDeps {
  store: CheckpointStore
  /** Verifies a JWS made with one of this gateway's keys (its key set lives outside the database); throws if not. */
  verify(jws: string, typ: string): Promise<{ payload: Record<string, unknown> }>
}

export interface CheckpointAudit {
  checkpoints: number
  /** The newest checkpoint's seq (0 when none). */
  latest: number
  findings: CheckpointFinding[]
}

const PAGE = 500

export async function auditCheckpoints(
  { deps }: Ctx<CheckpointAuditDeps, null>,
  opts: { caseId?: string | undefined; witnesses?: WitnessCopies[] } = {},
): Promise<CheckpointAudit> {
  const findings: CheckpointFinding[] = []
  const local = new Map<number, StoredCheckpoint>()
  let prev: StoredCheckpoint | null = null
  let after = 0
  for (;;) {
    const page = await deps.store.list(after, PAGE)
    if (page.length === 0) break
    for (const cp of page) {
      local.set(cp.seq, cp)
      const where = `checkpoint ${cp.seq}`
      const expectedSeq = (prev?.seq ?? 0) + 1
      if (cp.seq !== expectedSeq)
        findings.push({ where, problem: `checkpoints ${expectedSeq}–${cp.seq - 1} are missing` })
      try {
        const { payload } = await deps.verify(cp.jws, CHECKPOINT_TYP)
        const claims = CheckpointClaims.safeParse(payload)
        if (!claims.success) findings.push({ where, problem: 'its claims are malformed' })
        else {
          const c = claims.data
          if (c.seq !== cp.seq || c.root !== cp.root || c.size !== cp.size || c.prev !== cp.prev) {
            findings.push({ where, problem: 'the stored seq, root, size or prev differ from what was signed' })
          }
          const wantPrev = cp.seq === 1 ? FIRST_PREV : prev && prev.seq === cp.seq - 1 ? prev.hash : null
          if (wantPrev !== null && c.prev !== wantPrev) {
            findings.push({ where, problem: `does not link to checkpoint ${cp.seq - 1} (a fork or a rewrite)` })
          }
        }
      } catch {
        findings.push({ where, problem: 'the signature does not verify with this gateway’s keys' })
      }
      if (checkpointHash(cp.jws) !== cp.hash) findings.push({ where, problem: 'the stored hash is not the JWS’s' })
      const leaves = await deps.store.leaves(cp.seq)
      if (leaves.length !== cp.size || merkleRoot(leaves.map(chainHeadLeafHash)) !== cp.root) {
        findings.push({ where, problem: 'its stored leaves do not give the signed root (the leaves were changed)' })
      }
      prev = cp
    }
    after = page.at(-1)?.seq ?? after
  }

  for (const w of opts.witnesses ?? []) {
    for (const copy of w.copies) {
      const mine = local.get(copy.seq)
      const where = `checkpoint ${copy.seq} (witness ${w.witness})`
      let signedByUs = true
      try {
        await deps.verify(copy.jws, CHECKPOINT_TYP)
      } catch {
        signedByUs = false
      }
      if (!signedByUs) findings.push({ where, problem: 'the witness’s copy does not carry this gateway’s signature' })
      else if (!mine) findings.push({ where, problem: 'the witness holds it, but it is missing here' })
      else if (mine.jws !== copy.jws)
        findings.push({ where, problem: 'differs from the copy the witness holds (a fork)' })
    }
  }

  for (const leaf of await deps.store.mismatchedLeaves(prev?.seq ?? 0, opts.caseId)) {
    if (leaf.caseId === AUDIT_LEAF_ID) {
      findings.push({
        where: `audit record ${leaf.seq}`,
        seq: leaf.seq,
        problem:
          leaf.stored === null
            ? `missing, but checkpoint ${leaf.checkpointSeq} covers it (deleted before its retention ended)`
            : `its hash differs from the one signed in checkpoint ${leaf.checkpointSeq} (the record was changed)`,
      })
      continue
    }
    findings.push({
      where: `case ${leaf.caseId} event ${leaf.seq}`,
      caseId: leaf.caseId,
      seq: leaf.seq,
      problem:
        leaf.stored === null
          ? `missing, but checkpoint ${leaf.checkpointSeq} covers it`
          : `its hash differs from the chain head signed in checkpoint ${leaf.checkpointSeq} (the event was changed)`,
    })
  }
  return { checkpoints: local.size, latest: prev?.seq ?? 0, findings }
}

/**
 * A witness's copies of `gatewayId`'s checkpoints, page by page (at most 1000 pages of 1000). `fetchFn`
 * defaults to the global fetch.
 */
export async function fetchWitnessCopies(
  witnessUrl: string,
  gatewayId: string,
  fetchFn: (url: string) => Promise<Response> = fetch,
): Promise<WitnessCopies> {
  const base = witnessUrl.replace(/\/+$/, '')
  const copies: WitnessCopies['copies'] = []
  let after = 0
  for (let page = 0; page < 1000; page++) {
    const res = await fetchFn(`${base}/v1/checkpoints/${encodeURIComponent(gatewayId)}?after=${after}&limit=1000`)
    if (res.status !== 200) throw new Error(`witness ${base} answered HTTP ${res.status}`)
    const body = (await res.json()) as { checkpoints?: { seq?: unknown; jws?: unknown }[] }
    const rows = (body.checkpoints ?? []).filter(
      (r): r is { seq: number; jws: string } => typeof r.seq === 'number' && typeof r.jws === 'string',
    )
    if (rows.length === 0) break
    copies.push(...rows)
    after = rows.at(-1)?.seq ?? after
  }
  return { witness: base, copies }
}
