/**
 * CLI commands for administrators: system clients, people's tokens, the gateway's keys, the audit of
 * the hash chains. They open the database directly (as `tongban serve` would) and act as the CLI,
 * which has the machine's trust: whoever can run them can read the configuration anyway.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { type Config, loadConfig } from '../../config/env.js'
import type { Logger } from '../logger.js'
import { createLogger } from '../logger.js'
import { loadSecrets, openStore } from '../main.js'
import { systemClock } from '../ports/clock.js'
import { rotateKeySet } from '../security/keys.js'
import {
  AddClientBody,
  type AdminDeps,
  addClient,
  CreateTokenBody,
  createToken,
  ReplaceClientKeysBody,
  replaceClientKeys,
  revokeClient,
  revokeToken,
} from '../services/admin/clients.js'
import { type KeyAdminDeps, listKeyRevocations, RevokeKeyBody, revokeKey } from '../services/admin/key-revocations.js'
import { auditChains } from '../services/audit.js'
import { auditProofs, type ProofAuditDeps } from '../services/audit-proofs.js'
import { cliOrigin, withAuditOrigin } from '../services/audit-trail/context.js'
import { pruneAuditTrail } from '../services/audit-trail/prune.js'
import { AuditQuery, type AuditRecordView, EXPORT_MAX, toAuditView } from '../services/audit-trail/read.js'
import { AuditTrail } from '../services/audit-trail/trail.js'
import { verifyAuditTrail } from '../services/audit-trail/verify.js'
import {
  auditCheckpoints,
  type CheckpointAuditDeps,
  fetchWitnessCopies,
  type WitnessCopies,
} from '../services/checkpoints/audit.js'
import { DirectoryService } from '../services/directory/snapshot.js'
import { pruneStorage } from '../services/retention.js'
import { PgAuditTrailStore } from '../store/audit-trail-store.js'
import { PgCaseStore } from '../store/case-store.js'
import { PgCheckpointStore } from '../store/checkpoint-store.js'
import { PgClientStore } from '../store/client-store.js'
import type { Database } from '../store/db.js'
import { PgFileStore } from '../store/file-store.js'
import { PgKeyRevocationStore } from '../store/key-revocation-store.js'
import { PgResultStore } from '../store/result-store.js'
import { PgTokenStore } from '../store/token-store.js'
import { resealCommand } from './keys-reseal.js'
import { gatewayIssuerJwks } from './verify.js'

/** Runs `fn` with an audit trail on the gateway's database, flushed and closed after. */
async function withCliTrail<T>(config: Config, fn: (trail: AuditTrail) => Promise<T>): Promise<T> {
  const logger = createLogger('warn')
  const { database } = await openStore(config, logger)
  const trail = cliTrail(database, logger)
  try {
    return await fn(trail)
  } finally {
    await trail.flush()
    await database.close()
  }
}

const AUDIT_LOG_OPTIONS = {
  from: { type: 'string' },
  to: { type: 'string' },
  actor: { type: 'string' },
  action: { type: 'string' },
  target: { type: 'string' },
  outcome: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const

/** `audit log`: the trail, newest first, with the API's filters; `--json`: one JSON record per line (for shipping). */
async function auditLogCommand(args: string[], usage: string): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof AUDIT_LOG_OPTIONS }>>['values']
  try {
    values = parseArgs({ args, options: AUDIT_LOG_OPTIONS }).values
  } catch {
    console.error(usage)
    return 2
  }
  const { json, limit, ...filters } = values
  const q = AuditQuery.omit({ cursor: true, limit: true }).safeParse(filters)
  const max = limit === undefined ? 100 : Number(limit)
  if (!q.success || !Number.isInteger(max) || max < 1 || max > EXPORT_MAX) {
    for (const i of q.error?.issues ?? []) console.error(`error: ${i.path.join('.')}: ${i.message}`)
    if (q.success) console.error(`error: --limit: a whole number from 1 to ${EXPORT_MAX}`)
    console.error(usage)
    return 2
  }
  const config = loadConfig()
  const logger = createLogger('warn')
  const { database } = await openStore(config, logger)
  try {
    const store = new PgAuditTrailStore(database)
    const filter = {
      from: q.data.from ? new Date(q.data.from) : undefined,
      to: q.data.to ? new Date(q.data.to) : undefined,
      actor: q.data.actor,
      action: q.data.action,
      target: q.data.target,
      outcome: q.data.outcome,
    }
    const rows: AuditRecordView[] = []
    let before: number | null = null
    while (rows.length < max) {
      const want = Math.min(1000, max - rows.length)
      const page = await store.list(filter, before, want)
      rows.push(...page.map(toAuditView))
      if (page.length < want) break
      before = page.at(-1)?.seq ?? null
    }
    if (json) {
      for (const r of rows) console.log(JSON.stringify(r))
      return 0
    }
    console.log(
      table(
        rows.map((r) => ({
          seq: r.seq,
          at: r.at,
          actor: [r.actor.kind, r.actor.id, r.actor.name].filter(Boolean).join(':'),
          via: r.via,
          source: r.source ?? '',
          action: r.action,
          target: r.target ?? '',
          outcome: r.count > 1 ? `${r.outcome} ×${r.count}` : r.outcome,
          reason: r.reason ?? '',
        })),
        ['seq', 'at', 'actor', 'via', 'source', 'action', 'target', 'outcome', 'reason'],
      ),
    )
    return 0
  } finally {
    await database.close()
  }
}

/** The audit trail of a CLI command: its actions are recorded as `cli` with the OS user. */
export function cliTrail(database: Database, logger: Logger): AuditTrail {
  return new AuditTrail({ store: new PgAuditTrailStore(database), clock: systemClock, logger })
}

async function withAdmin<T>(fn: (deps: AdminDeps, database: Database) => Promise<T>): Promise<T> {
  const config = loadConfig()
  const logger = createLogger('warn')
  const { database, store } = await openStore(config, logger)
  const trail = cliTrail(database, logger)
  try {
    const deps: AdminDeps = {
      clients: new PgClientStore(database.db),
      tokens: new PgTokenStore(database.db),
      directory: new DirectoryService(store, systemClock, logger),
      clock: systemClock,
      jwksAllowHosts: config.jwksAllowHosts,
      trail,
    }
    return await withAuditOrigin(cliOrigin(), () => fn(deps, database))
  } finally {
    await trail.flush()
    await database.close()
  }
}

function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((r) => columns.map((c) => String(r[c] ?? '')))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)))
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  return [line(columns), ...cells.map(line)].join('\n')
}

export async function clientsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'add') {
    const { values } = parseArgs({
      args: rest,
      options: {
        id: { type: 'string' },
        regions: { type: 'string' },
        jwks: { type: 'string' },
        'jwks-url': { type: 'string' },
        name: { type: 'string' },
        departments: { type: 'string' },
      },
    })
    const body = AddClientBody.safeParse({
      id: values.id,
      name: values.name,
      regions: values.regions?.split(',').map((r) => r.trim()),
      jwks: values.jwks ? JSON.parse(await readFile(values.jwks, 'utf8')) : undefined,
      jwksUrl: values['jwks-url'],
      departments: values.departments?.split(',').map((d) => d.trim()),
    })
    if (!body.success) {
      for (const i of body.error.issues) console.error(`error: ${i.path.join('.') || '(arguments)'}: ${i.message}`)
      console.error(
        'usage: tongban clients add --id ID --regions CODE[,CODE…] (--jwks FILE | --jwks-url URL) [--name TEXT] [--departments CODE,…]',
      )
      return 2
    }
    const client = await withAdmin((deps) => addClient({ caller: null, deps }, body.data))
    const limited = client.departments?.length ? `, limited to ${client.departments.join(', ')}` : ''
    console.log(`registered client ${client.id} for ${client.regions.join(', ')}${limited}`)
    return 0
  }
  if (sub === 'list') {
    const clients = await withAdmin((deps) => deps.clients.list())
    console.log(
      table(
        clients.map((c) => ({
          id: c.id,
          status: c.status,
          regions: c.regions.join(','),
          departments: c.departments?.join(',') ?? '',
          keys: c.jwksUrl ?? `${c.jwks?.keys.length ?? 0} inline`,
          created: c.createdAt.toISOString(),
        })),
        ['id', 'status', 'regions', 'departments', 'keys', 'created'],
      ),
    )
    return 0
  }
  if (sub === 'keys') {
    const usage =
      'usage: tongban clients keys ID --jwks FILE [--keep KID[,KID…] | --drop-old]  (default: keep every registered key)'
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { jwks: { type: 'string' }, keep: { type: 'string' }, 'drop-old': { type: 'boolean' } },
    })
    const id = positionals[0]
    if (!id || !values.jwks || positionals.length > 1 || (values.keep !== undefined && values['drop-old'])) {
      console.error(usage)
      return 2
    }
    const body = ReplaceClientKeysBody.safeParse({
      jwks: JSON.parse(await readFile(values.jwks, 'utf8')),
      keep: values['drop-old'] ? false : values.keep !== undefined ? values.keep.split(',').map((k) => k.trim()) : true,
    })
    if (!body.success) {
      for (const i of body.error.issues) console.error(`error: ${i.path.join('.') || '(arguments)'}: ${i.message}`)
      console.error(usage)
      return 2
    }
    const { client, kept, dropped } = await withAdmin((deps) =>
      replaceClientKeys({ caller: null, deps }, { id, body: body.data }),
    )
    const kids = (client.jwks?.keys ?? []).map((k) => String(k.kid))
    console.log(`client ${client.id} now has ${kids.length} key(s): ${kids.join(', ')}`)
    console.log(`kept: ${kept.join(', ') || '(none)'}; dropped: ${dropped.join(', ') || '(none)'}`)
    return 0
  }
  if (sub === 'remove' && rest[0]) {
    const id = rest[0]
    await withAdmin((deps) => revokeClient({ caller: null, deps }, id))
    console.log(`revoked client ${id}: its requests are refused from now on`)
    return 0
  }
  console.error('usage: tongban clients add|list|keys|remove …')
  return 2
}

export async function tokensCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'create') {
    const { values } = parseArgs({
      args: rest,
      options: {
        role: { type: 'string' },
        region: { type: 'string' },
        window: { type: 'string' },
        name: { type: 'string' },
        departments: { type: 'string' },
      },
    })
    const body = CreateTokenBody.safeParse({
      ...values,
      departments: values.departments?.split(',').map((d) => d.trim()),
    })
    if (!body.success) {
      for (const i of body.error.issues) console.error(`error: ${i.path.join('.') || '(arguments)'}: ${i.message}`)
      console.error(
        'usage: tongban tokens create --role admin|security|auditor|operator [--region CODE --window ID] [--name TEXT] [--departments CODE,…]',
      )
      return 2
    }
    const { token, record } = await withAdmin((deps) => createToken({ caller: null, deps }, body.data))
    console.error(`created ${record.role} token ${record.id}; it is shown once, keep it now:`)
    console.log(token)
    return 0
  }
  if (sub === 'list') {
    const tokens = await withAdmin((deps) => deps.tokens.list())
    console.log(
      table(
        tokens.map((t) => ({
          ...t,
          createdAt: t.createdAt.toISOString(),
          revokedAt: t.revokedAt?.toISOString() ?? '',
          departments: t.departments?.join(',') ?? '',
        })),
        ['id', 'role', 'region', 'window', 'name', 'departments', 'createdAt', 'revokedAt'],
      ),
    )
    return 0
  }
  if (sub === 'revoke' && rest[0]) {
    const id = rest[0]
    await withAdmin((deps) => revokeToken({ caller: null, deps }, id))
    console.log(`revoked token ${id}`)
    return 0
  }
  console.error('usage: tongban tokens create|list|revoke …')
  return 2
}

const KEYS_USAGE = `usage: tongban keys rotate [--alg ES256|EdDSA|SM2]
       tongban keys revoke KID --at ISO-TIME [--client ID] [--reason TEXT]
       tongban keys revocations`

export async function keysCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'reseal') return resealCommand(rest)
  if (sub === 'revoke' || sub === 'revocations') return keyRevocationCommand(sub, rest)
  if (sub !== 'rotate') {
    console.error(KEYS_USAGE)
    return 2
  }
  const { values } = parseArgs({ args: rest, options: { alg: { type: 'string' } } })
  if (values.alg !== undefined && values.alg !== 'ES256' && values.alg !== 'EdDSA' && values.alg !== 'SM2') {
    console.error('--alg must be ES256, EdDSA or SM2')
    return 2
  }
  const config = loadConfig()
  if (config.keys.json !== undefined) {
    console.error('the key set comes from TONGBAN_KEYS: rotate it where that value is kept')
    return 1
  }
  const { kid, previous } = await withCliTrail(config, (trail) =>
    withAuditOrigin(cliOrigin(), () =>
      trail.audited(null, 'key.rotate', `key:${config.gateway.id}`, async () => {
        const rotated = await rotateKeySet({
          dataDir: config.dataDir,
          ...(config.keys.file !== undefined ? { keysFile: config.keys.file } : {}),
          ...(values.alg ? { alg: values.alg as 'ES256' | 'EdDSA' | 'SM2' } : {}),
          preferred: config.keys.alg,
        })
        return { value: rotated, change: { before: { kid: rotated.previous }, after: { kid: rotated.kid } } }
      }),
    ),
  )
  console.log(
    `new signing key ${kid}; ${previous} stays published so earlier signatures verify. A running gateway on this key set file signs with it within a second.`,
  )
  return 0
}

export async function auditCommand(args: string[]): Promise<number> {
  const usage =
    'usage: tongban audit verify [CASE] [--witness URL …]\n' +
    '       tongban audit log [--from ISO] [--to ISO] [--actor ID] [--action A] [--target T] [--outcome O] [--limit N] [--json]'
  if (args[0] === 'log') return auditLogCommand(args.slice(1), usage)
  let parsed: ReturnType<typeof parseAuditArgs>
  try {
    parsed = parseAuditArgs(args)
  } catch {
    console.error(usage)
    return 2
  }
  const { sub, caseId, witnesses } = parsed
  if (sub !== 'verify') {
    console.error(usage)
    return 2
  }
  const config = loadConfig()
  const logger = createLogger('warn')
  const { database } = await openStore(config, logger)
  try {
    const cases = new PgCaseStore(database)
    const report = await auditChains(cases, {
      caseId,
      onProgress: (n) => process.stderr.write(`\rchecked ${n} cases`),
    })
    if (!caseId) process.stderr.write('\n')
    for (const b of report.breaks) console.log(`BROKEN ${b.caseId} at seq ${b.seq}: ${b.reason}`)
    console.log(`${report.checked} case(s), ${report.events} event(s), ${report.breaks.length} broken chain(s)`)
    const { keys } = await loadSecrets(config, logger)
    const checkpoints = await verifyAgainstCheckpoints({
      store: new PgCheckpointStore(database),
      verify: (jws, typ) => keys.verify(jws, typ),
      gatewayId: config.gateway.id,
      caseId,
      witnessUrls: witnesses,
    })
    const proofs = await auditProofs(await proofAuditDeps(config, logger, database, cases), { caseId })
    for (const b of proofs.breaks) console.log(`UNPROVEN ${b.caseId} at seq ${b.seq}: ${b.problem}`)
    console.log(
      `${proofs.proven} event(s) proven, ${proofs.unproven} unproven (before proofs), ` +
        `${proofs.breaks.length} proof or meaning problem(s)`,
    )
    // The audit trail of administrative and security actions (docs/audit.md), unless one case was asked for.
    let trailBreaks = 0
    if (!caseId) {
      const trail = await verifyAuditTrail({
        caller: null,
        deps: { store: new PgAuditTrailStore(database), checkpoints: new PgCheckpointStore(database) },
      })
      for (const b of trail.breaks) console.log(`BROKEN audit record ${b.seq}: ${b.problem}`)
      const pruned = trail.prunedThrough > 0 ? ` (pruned through ${trail.prunedThrough})` : ''
      console.log(
        `${trail.records} audit record(s) up to seq ${trail.latest}${pruned}, ${trail.breaks.length} broken link(s)`,
      )
      trailBreaks = trail.breaks.length
    }
    return report.breaks.length === 0 && proofs.breaks.length === 0 && checkpoints === 0 && trailBreaks === 0 ? 0 : 1
  } finally {
    await database.close()
  }
}

function parseAuditArgs(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { witness: { type: 'string', multiple: true } },
  })
  return { sub: positionals[0], caseId: positionals[1], witnesses: values.witness ?? [] }
}

/** Prints what the checkpoint audit found; returns the number of findings. */
async function verifyAgainstCheckpoints(opts: {
  store: PgCheckpointStore
  verify: CheckpointAuditDeps['verify']
  gatewayId: string
  caseId: string | undefined
  witnessUrls: string[]
}): Promise<number> {
  const witnesses: WitnessCopies[] = []
  let unreachable = 0
  for (const url of opts.witnessUrls) {
    try {
      witnesses.push(await fetchWitnessCopies(url, opts.gatewayId))
    } catch (e) {
      unreachable++
      console.log(`WITNESS ${url}: cannot read its copies (${(e as Error).message})`)
    }
  }
  const audit = await auditCheckpoints(
    {
      caller: null,
      deps: {
        store: opts.store,
        verify: async (jws, typ) => ({ payload: { ...(await opts.verify(jws, typ)).payload } }),
      },
    },
    { caseId: opts.caseId, witnesses },
  )
  for (const f of audit.findings) console.log(`DIFFERS ${f.where}: ${f.problem}`)
  const held = witnesses.map((w) => `${w.copies.length} held by ${w.witness}`).join(', ')
  console.log(
    `${audit.checkpoints} checkpoint(s) up to seq ${audit.latest}${held ? ` (${held})` : ''}, ` +
      `${audit.findings.length} difference(s)`,
  )
  return audit.findings.length + unreachable
}

/** What the proof audit checks against: the gateway's key set, the registered clients' keys, the results. */
export async function proofAuditDeps(
  config: Config,
  logger: Logger,
  database: Database,
  cases: PgCaseStore,
): Promise<ProofAuditDeps> {
  const jwksOf = await gatewayIssuerJwks(config, logger, database)
  const [first] = await database.query<{ at: Date | string | null }>(
    'select min(at) as at from case_events where proof is not null',
    [],
  )
  return {
    cases,
    results: new PgResultStore(database),
    gatewayId: config.gateway.id,
    jwksOf,
    requireFrom: first?.at ? new Date(first.at) : null,
  }
}

/** `prune [--dry-run]`: deletes unused files and expired idempotency answers now (the workers do it hourly). */
export async function pruneCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { 'dry-run': { type: 'boolean', default: false } } })
  const config = loadConfig()
  const logger = createLogger('warn')
  const { database } = await openStore(config, logger)
  try {
    const report = await pruneStorage(
      {
        caller: null,
        deps: {
          files: new PgFileStore(database),
          cases: new PgCaseStore(database),
          clock: systemClock,
          logger,
          fileUnusedHours: config.files.unusedRetentionHours,
        },
      },
      { dryRun: values['dry-run'] },
    )
    const verb = report.dryRun ? 'would delete' : 'deleted'
    console.log(
      `${verb} ${report.files} unused file(s) (${report.bytes} bytes, unused for ${config.files.unusedRetentionHours} h ` +
        `and referenced by no case) and ${report.idempotencyKeys} expired idempotency answer(s)`,
    )
    if (!report.dryRun) {
      const trail = cliTrail(database, logger)
      const pruned = await withAuditOrigin(cliOrigin(), () =>
        pruneAuditTrail({ caller: null, deps: trail }, { keepDays: config.audit.retentionDays }),
      )
      console.log(
        pruned
          ? `audit trail: deleted ${pruned.records} record(s) through seq ${pruned.throughSeq}, older than ${pruned.olderThan.toISOString()}`
          : `audit trail: nothing older than ${config.audit.retentionDays} days under a checkpoint to delete`,
      )
    }
    return 0
  } finally {
    await database.close()
  }
}

/** `keys revoke` (this gateway's key, or a client's with `--client`) and `keys revocations`. */
async function keyRevocationCommand(sub: 'revoke' | 'revocations', rest: string[]): Promise<number> {
  // A kid is a base64url thumbprint and may begin with '-': the word after `revoke` is the kid, whatever it looks like.
  const kidFirst = sub === 'revoke' && rest[0] !== undefined && !/^--(at|client|reason)(=|$)/.test(rest[0])
  const { values, positionals } = parseArgs({
    args: kidFirst ? rest.slice(1) : rest,
    allowPositionals: true,
    options: { at: { type: 'string' }, client: { type: 'string' }, reason: { type: 'string' } },
  })
  let body: RevokeKeyBody | null = null
  if (sub === 'revoke') {
    const parsed = RevokeKeyBody.safeParse({
      kid: kidFirst ? rest[0] : positionals[0],
      revokedAt: values.at,
      ...(values.client ? { issuer: values.client } : {}),
      ...(values.reason ? { reason: values.reason } : {}),
    })
    if (!parsed.success) {
      for (const i of parsed.error.issues) console.error(`error: ${i.path.join('.') || '(arguments)'}: ${i.message}`)
      console.error(KEYS_USAGE)
      return 2
    }
    body = parsed.data
  }
  const config = loadConfig()
  const logger = createLogger('warn')
  const { keys } = await loadSecrets(config, logger)
  const { database } = await openStore(config, logger)
  try {
    const deps: KeyAdminDeps = {
      gatewayId: config.gateway.id,
      gatewayKeys: () => ({ currentKid: keys.currentKid, inUse: keys.inUseKids(), jwks: keys.jwks() }),
      clients: new PgClientStore(database.db),
      store: new PgKeyRevocationStore(database),
      clock: systemClock,
      trail: cliTrail(database, logger),
    }
    if (body) {
      const revoking = body
      const r = await withAuditOrigin(cliOrigin(), () => revokeKey({ caller: null, deps }, revoking))
      console.log(
        `revoked key ${r.kid} of ${r.issuer} from ${r.revokedAt.toISOString()}: what it signed from then on is refused ` +
          '(running gateways apply it within 5 s)',
      )
      return 0
    }
    const rows = (await listKeyRevocations({ caller: null, deps })).map((r) => ({
      issuer: r.issuer,
      kid: r.kid,
      revokedAt: r.revokedAt.toISOString(),
      reason: r.reason ?? '',
      recordedBy: r.recordedBy ?? '',
    }))
    console.log(table(rows, ['issuer', 'kid', 'revokedAt', 'reason', 'recordedBy']))
    return 0
  } finally {
    await database.close()
  }
}
