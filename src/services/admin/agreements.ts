/**
 * Agreements for admins: every version, a new version made by editing (checked exactly as `tongban config
 * check` checks a file), the difference between two versions, and activation, suspension and retirement.
 * A change applies to new cases only: a case keeps the `{ id, version }` it was routed under, and routing
 * reads the version in force (see `DirectoryStore.load`) from the directory snapshot, invalidated here.
 */
import { z } from 'zod'
import { checkAgreementDocument, formatProblem } from '../../../config/load.js'
import { type Agreement, AgreementStatus } from '../../../config/schema.js'
import { diffJson, type JsonChange } from '../../domain/json-diff.js'
import { AppError } from '../../errors.js'
import type { Caller } from '../../ports/callers.js'
import type { DirectoryStore, StoredAgreement } from '../../ports/directory-store.js'
import { type AuditTrail, auditedBy } from '../audit-trail/trail.js'
import { requireAdmin } from '../authz.js'
import type { Ctx } from '../context.js'
import type { DirectoryService } from '../directory/snapshot.js'

export interface AgreementAdminDeps {
  store: DirectoryStore
  directory: DirectoryService
  /** The audit trail every change is recorded in. */
  trail?: AuditTrail | undefined
}

export const AgreementVersionView = z
  .object({
    version: z.number().int(),
    status: AgreementStatus,
    createdAt: z.string(),
    createdBy: z.string(),
    inForce: z.boolean().meta({ description: 'Whether this version routes new cases' }),
    agreement: z.record(z.string(), z.unknown()).meta({ description: 'The agreement document of this version' }),
  })
  .meta({ id: 'AgreementVersion' })
export type AgreementVersionView = z.infer<typeof AgreementVersionView>

export const AgreementSummary = z
  .object({
    id: z.string(),
    name: z.string(),
    scope: z.string(),
    inForce: z.number().int().nullable().meta({ description: 'The version that routes new cases' }),
    versions: z.array(
      z.object({ version: z.number().int(), status: AgreementStatus, createdAt: z.string(), createdBy: z.string() }),
    ),
  })
  .meta({ id: 'AgreementSummary' })
export type AgreementSummary = z.infer<typeof AgreementSummary>

export const AgreementDiff = z
  .object({
    id: z.string(),
    from: z.number().int(),
    to: z.number().int(),
    changes: z.array(
      z.object({
        path: z.string(),
        kind: z.enum(['added', 'removed', 'changed']),
        before: z.unknown().optional(),
        after: z.unknown().optional(),
      }),
    ),
  })
  .meta({ id: 'AgreementDiff' })

export type StatusAction = 'activate' | 'suspend' | 'retire'

async function versionsOf(deps: AgreementAdminDeps, id: string): Promise<StoredAgreement[]> {
  const all = await deps.store.listAgreementVersions(id)
  if (all.length === 0) throw new AppError('not_found', `no agreement ${id}`)
  return all
}

async function inForceVersion(deps: AgreementAdminDeps, id: string): Promise<number | null> {
  const snap = await deps.directory.snapshot()
  return snap.agreements.get(id)?.version ?? null
}

function toView(s: StoredAgreement, inForce: number | null): AgreementVersionView {
  return {
    version: s.agreement.version,
    status: s.agreement.status,
    createdAt: s.createdAt.toISOString(),
    createdBy: s.createdBy,
    inForce: s.agreement.version === inForce,
    agreement: s.agreement as unknown as Record<string, unknown>,
  }
}

export async function listAgreementsAdmin({ caller, deps }: Ctx<AgreementAdminDeps>): Promise<AgreementSummary[]> {
  requireAdmin(caller)
  const latest = await deps.store.listAgreements()
  const snap = await deps.directory.snapshot()
  return Promise.all(
    latest.map(async (l) => {
      const all = await deps.store.listAgreementVersions(l.agreement.id)
      return {
        id: l.agreement.id,
        name: l.agreement.name,
        scope: l.agreement.scope,
        inForce: snap.agreements.get(l.agreement.id)?.version ?? null,
        versions: all.map((v) => ({
          version: v.agreement.version,
          status: v.agreement.status,
          createdAt: v.createdAt.toISOString(),
          createdBy: v.createdBy,
        })),
      }
    }),
  )
}

export async function listAgreementVersions(
  { caller, deps }: Ctx<AgreementAdminDeps>,
  id: string,
): Promise<AgreementVersionView[]> {
  requireAdmin(caller)
  const all = await versionsOf(deps, id)
  const inForce = await inForceVersion(deps, id)
  return all.map((s) => toView(s, inForce))
}

/**
 * Stores an edited document as the next version of agreement `id`, as a `draft` (it routes nothing until
 * activated). The document is checked against the directory in force exactly as a configuration file is;
 * its `version` and `status` are assigned here, whatever it says.
 * @throws AppError `rule_violation` (422) with every problem in `errors`; `not_found` for an unknown id
 */
export async function createAgreementVersion(
  { caller, deps }: Ctx<AgreementAdminDeps>,
  { id, document }: { id: string; document: Record<string, unknown> },
): Promise<AgreementVersionView> {
  return auditedBy(deps.trail, caller, 'agreement.version.create', `agreement:${id}`, async () => {
    const view = await createAgreementVersionUnaudited(caller, deps, id, document)
    return {
      value: view,
      target: `agreement:${id}@${view.version}`,
      change: { before: null, after: view.agreement },
    }
  })
}

async function createAgreementVersionUnaudited(
  caller: Caller,
  deps: AgreementAdminDeps,
  id: string,
  document: Record<string, unknown>,
): Promise<AgreementVersionView> {
  requireAdmin(caller)
  await versionsOf(deps, id)
  if (document.id !== undefined && document.id !== id) {
    throw new AppError('rule_violation', `the document's id "${String(document.id)}" is not ${id}`, {
      errors: [{ path: 'id', message: `must be ${id}` }],
      expose: { rule: 'agreement_check' },
    })
  }
  const snap = await deps.directory.snapshot()
  const checked = checkAgreementDocument({ ...document, id, version: 1, status: 'draft' }, snap.directory)
  if (!checked.agreement) {
    throw new AppError('rule_violation', checked.errors.map(formatProblem).join('; '), {
      errors: checked.errors.map((p) => ({ path: p.path, message: p.message })),
      expose: { rule: 'agreement_check' },
    })
  }
  const stored = await deps.store.addAgreementVersion(checked.agreement, actorOf(caller))
  deps.directory.invalidate()
  return toView(stored, await inForceVersion(deps, id))
}

export async function diffAgreementVersions(
  { caller, deps }: Ctx<AgreementAdminDeps>,
  { id, from: fromVersion, to: toVersion }: { id: string; from?: number | undefined; to?: number | undefined },
): Promise<{ id: string; from: number; to: number; changes: JsonChange[] }> {
  requireAdmin(caller)
  const all = await versionsOf(deps, id)
  const to = toVersion ?? all.at(-1)!.agreement.version
  const from = fromVersion ?? (await inForceVersion(deps, id)) ?? all[0]!.agreement.version
  const pick = (v: number) => {
    const found = all.find((s) => s.agreement.version === v)
    if (!found) throw new AppError('not_found', `agreement ${id} has no version ${v}`)
    return found.agreement
  }
  const strip = ({ version: _v, status: _s, ...rest }: Agreement) => rest
  return { id, from, to, changes: diffJson(strip(pick(from)), strip(pick(to))) }
}

const allowedFrom: Record<StatusAction, readonly AgreementStatus[]> = {
  activate: ['draft', 'suspended'],
  suspend: ['active'],
  retire: ['draft', 'active', 'suspended'],
}
const target: Record<StatusAction, AgreementStatus> = { activate: 'active', suspend: 'suspended', retire: 'retired' }

/**
 * Activates, suspends or retires one version. Activating a version retires the other active versions of the
 * agreement (one version routes new cases); cases already routed keep their version whatever happens here.
 * @throws AppError `conflict` when the version's status does not allow the action
 */
export async function setAgreementVersionStatus(
  { caller, deps }: Ctx<AgreementAdminDeps>,
  { id, version, action }: { id: string; version: number; action: StatusAction },
): Promise<AgreementVersionView> {
  return auditedBy(deps.trail, caller, `agreement.version.${action}`, `agreement:${id}@${version}`, async () => {
    const before = (await deps.store.listAgreementVersions(id)).find((s) => s.agreement.version === version)
    const view = await setStatusUnaudited(caller, deps, id, version, action)
    return {
      value: view,
      change: { before: { status: before?.agreement.status ?? null }, after: { status: view.status } },
    }
  })
}

async function setStatusUnaudited(
  caller: Caller,
  deps: AgreementAdminDeps,
  id: string,
  version: number,
  action: StatusAction,
): Promise<AgreementVersionView> {
  requireAdmin(caller)
  const all = await versionsOf(deps, id)
  const current = all.find((s) => s.agreement.version === version)
  if (!current) throw new AppError('not_found', `agreement ${id} has no version ${version}`)
  if (!allowedFrom[action].includes(current.agreement.status)) {
    throw new AppError('conflict', `cannot ${action} ${id} version ${version}: it is ${current.agreement.status}`, {
      expose: { currentStatus: current.agreement.status },
    })
  }
  const actor = actorOf(caller)
  if (action === 'activate') {
    for (const other of all) {
      if (other.agreement.version !== version && other.agreement.status === 'active') {
        await deps.store.setAgreementStatus(id, other.agreement.version, 'retired', actor)
      }
    }
  }
  const stored = await deps.store.setAgreementStatus(id, version, target[action], actor)
  deps.directory.invalidate()
  return toView(stored, await inForceVersion(deps, id))
}

function actorOf(caller: Caller): string {
  return `${caller.kind}:${caller.id}`
}
