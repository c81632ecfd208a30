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
import {
  auditCheckpoints,
  type CheckpointAuditDeps,
  fetchWitnessCopies,
  type WitnessCopies,
} from '../services/checkpoints/audit.js'
import { DirectoryService } from '../services/directory/snapshot.js'
import { pruneStorage } from '../services/retention.js'
import { PgCaseStore } from '../store/case-store.js'
import { PgCheckpointStore } from '../store/checkpoint-store.js'
import { PgClientStore } from '../store/client-store.js'
import type { Database } from '../store/db.js'
import { PgFileStore } from '../store/file-store.js'
import { PgKeyRevocationStore } from '../store/key-revocation-store.js'
import { PgResultStore } from '../store/result-store.js'
import { PgTokenStore } from '../store/token-store.js'
import { gatewayIssuerJwks } from './verify.js'

async function withAdmin<T>(fn: (deps: AdminDeps, database: Database) => Promise<T>): Promise<T> {
  const config = loadConfig()
  const logger = createLogger('warn')
  const { database, store } = await openStore(config, logger)
  try {
    const deps: AdminDeps = {
      clients: new PgClientStore(database.db),
      tokens: new PgTokenStore(database.db),
      directory: new DirectoryService(store, systemClock, logger),
      clock: systemClock,
      jwksAllowHosts: config.jwksAllowHosts,
    }
    return await fn(deps, database)
  } finally {
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
      },
    })
    const body = AddClientBody.safeParse({
      id: values.id,
      name: values.name,
      regions: values.regions?.split(',').map((r) => r.trim()),
      jwks: values.jwks ? JSON.parse(await readFile(values.jwks, 'utf8')) : undefined,
      jwksUrl: values['jwks-url'],
    })
    if (!body.success) {
      for (const i of body.error.issues) console.error(`error: ${i.path.join('.') || '(arguments)'}: ${i.message}`)
      console.error(
        'usage: tongban clients add --id ID --regions CODE[,CODE…] (--jwks FILE | --jwks-url URL) [--name TEXT]',
      )
      return 2
    }
    const client = await withAdmin((deps) => addClient(null, deps, body.data))
    console.log(`registered client ${client.id} for ${client.regions.join(', ')}`)
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
          keys: c.jwksUrl ?? `${c.jwks?.keys.length ?? 0} inline`,
          created: c.createdAt.toISOString(),
        })),
        ['id', 'status', 'regions', 'keys', 'created'],
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
    const { client, kept, dropped } = await withAdmin((deps) => replaceClientKeys(null, deps, id, body.data))
    const kids = (client.jwks?.keys ?? []).map((k) => String(k.kid))
    console.log(`client ${client.id} now has ${kids.length} key(s): ${kids.join(', ')}`)
    console.log(`kept: ${kept.join(', ') || '(none)'}; dropped: ${dropped.join(', ') || '(none)'}`)
    return 0
  }
  if (sub === 'remove' && rest[0]) {
    const id = rest[0]
    await withAdmin((deps) => revokeClient(null, deps, id))
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
      },
    })
    const body = CreateTokenBody.safeParse(values)
    if (!body.success) {
      for (const i of body.error.issues) console.error(`error: ${i.path.join('.') || '(arguments)'}: ${i.message}`)
      console.error('usage: tongban tokens create --role admin|operator [--region CODE --window ID] [--name TEXT]')
      return 2
    }
    const { token, record } = await withAdmin((deps) => createToken(null, deps, body.data))
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
        })),
        ['id', 'role', 'region', 'window', 'name', 'createdAt', 'revokedAt'],
      ),
    )
    return 0
  }
  if (sub === 'revoke' && rest[0]) {
    const id = rest[0]
    await withAdmin((deps) => revokeToken(null, deps, id))
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
  const { kid, previous } = await rotateKeySet({
    dataDir: config.dataDir,
    ...(config.keys.file !== undefined ? { keysFile: config.keys.file } : {}),
    ...(values.alg ? { alg: values.alg as 'ES256' | 'EdDSA' | 'SM2' } : {}),
    preferred: config.keys.alg,
  })
  console.log(
    `new signing key ${kid}; ${previous} stays published so earlier signatures verify. A running gateway on this key set file signs with it within a second.`,
  )
  return 0
}

export async function auditCommand(args: string[]): Promise<number> {
  const usage = 'usage: tongban audit verify [CASE] [--witness URL …]'
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
    return report.breaks.length === 0 && proofs.breaks.length === 0 && checkpoints === 0 ? 0 : 1
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
    { store: opts.store, verify: async (jws, typ) => ({ payload: { ...(await opts.verify(jws, typ)).payload } }) },
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
        files: new PgFileStore(database),
        cases: new PgCaseStore(database),
        clock: systemClock,
        logger,
        fileUnusedHours: config.files.unusedRetentionHours,
      },
      { dryRun: values['dry-run'] },
    )
    const verb = report.dryRun ? 'would delete' : 'deleted'
    console.log(
      `${verb} ${report.files} unused file(s) (${report.bytes} bytes, unused for ${config.files.unusedRetentionHours} h ` +
        `and referenced by no case) and ${report.idempotencyKeys} expired idempotency answer(s)`,
    )
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
    }
    if (body) {
      const r = await revokeKey(null, deps, body)
      console.log(
        `revoked key ${r.kid} of ${r.issuer} from ${r.revokedAt.toISOString()}: what it signed from then on is refused ` +
          '(running gateways apply it within 5 s)',
      )
      return 0
    }
    const rows = (await listKeyRevocations(null, deps)).map((r) => ({
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
