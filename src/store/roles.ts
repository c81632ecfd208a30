/**
 * Two database roles (docs/trust.md): migrations run as the owner of the tables; the gateway runs as a
 * runtime role that may read everything, append to the append-only tables, and update or delete only the
 * rows the code really changes. Not owning the tables, it can neither alter them nor disable their
 * triggers. `ensureRuntimeRole` (run by `tongban migrate`, and by `serve`/`worker` when the migration URL
 * differs) creates that role if missing and brings its grants to exactly this, reporting what it changed.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto'
import { AppError } from '../errors.js'
import type { Database } from './db.js'

/**
 * Tables whose rows are never changed once written: the runtime role may only read and insert them.
 * Each table that holds evidence belongs here: the case timelines and the signed checkpoints with their witnesses.
 */
export const APPEND_ONLY_TABLES: readonly string[] = [
  'case_events',
  'checkpoints',
  'checkpoint_leaves',
  'checkpoint_countersignatures',
  'witnessed_checkpoints',
  'audit_records',
  'audit_prunes',
]

/**
 * Tables the gateway deletes rows from: the outbox relay, retention (files, idempotency answers), unbinding, the
 * report's stored months (replaced when computed again).
 */
export const RUNTIME_DELETE_TABLES: readonly string[] = [
  'outbox',
  'idempotency_keys',
  'files',
  'file_uploads',
  'bindings',
  'client_jtis',
  'report_months',
  'report_month_changes',
]

/** Tables the gateway only reads. */
const READ_ONLY_TABLES: readonly string[] = ['schema_migrations']

/** Advisory-lock key serialising grant changes ('role' in ASCII). */
const ROLES_LOCK_KEY = 0x726f6c65

type Privilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE'
const ALL: readonly Privilege[] = ['SELECT', 'INSERT', 'UPDATE', 'DELETE']

/** What the runtime role may do with `table` (any table not listed: read, insert, update). */
export function runtimePrivileges(name: string): Privilege[] {
  // A monthly partition (migration 0033) has its parent's privileges: the gateway goes through the parent.
  const table = name.replace(/^(cases|case_events)_(y\d{4}m\d{2}|default)$/, '$1')
  if (READ_ONLY_TABLES.includes(table)) return ['SELECT']
  if (APPEND_ONLY_TABLES.includes(table)) return ['SELECT', 'INSERT']
  if (RUNTIME_DELETE_TABLES.includes(table)) return [...ALL]
  return ['SELECT', 'INSERT', 'UPDATE']
}

export interface RoleReport {
  /** The runtime role's name (DATABASE_URL's user). */
  role: string
  /** What was done, one line each; empty when everything was already right. */
  actions: string[]
  /** What could not be fixed here and needs an operator (the runtime role is a superuser or owns tables). */
  problems: string[]
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`

/** A SCRAM-SHA-256 verifier (RFC 5802/7677, PostgreSQL's format): the password never reaches the server in clear. */
function scramVerifier(password: string): string {
  const salt = randomBytes(16)
  const iterations = 4096
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256')
  const clientKey = createHmac('sha256', salted).update('Client Key').digest()
  const storedKey = createHash('sha256').update(clientKey).digest()
  const serverKey = createHmac('sha256', salted).update('Server Key').digest()
  const b64 = (b: Buffer) => b.toString('base64')
  return `SCRAM-SHA-256$${iterations}:${b64(salt)}$${b64(storedKey)}:${b64(serverKey)}`
}

/** The user and password of a postgres:// URL (percent-decoded). */
export function credentialsOf(url: string): { user: string; password: string | null } {
  const u = new URL(url)
  const user = decodeURIComponent(u.username)
  if (user === '') {
    throw new AppError(
      'internal',
      'DATABASE_URL names no user: the runtime role is taken from it (postgres://ROLE:…@…)',
    )
  }
  return { user, password: u.password === '' ? null : decodeURIComponent(u.password) }
}

/**
 * Creates the runtime role named by `runtimeUrl` if missing (LOGIN, the URL's password as a SCRAM verifier)
 * and sets its grants on every table of schema `public` to `runtimePrivileges`, its sequences to usage, and
 * default privileges so that tables later migrations add are readable, insertable and updatable (an
 * append-only one is narrowed by the next run). Run as the owner of the tables, after `migrate`.
 * Nothing to do when `runtimeUrl`'s user is the owner itself (one role: development).
 *
 * @example const report = await ensureRuntimeRole(ownerDatabase, config.database.url)
 */
export async function ensureRuntimeRole(owner: Database, runtimeUrl: string): Promise<RoleReport> {
  const { user: role, password } = credentialsOf(runtimeUrl)
  const report: RoleReport = { role, actions: [], problems: [] }
  if (owner.kind !== 'postgres') return report
  const [me] = await owner.query<{ name: string }>('select current_user as name', [])
  if (me?.name === role) {
    report.problems.push(
      `the runtime role ${role} is the migration role itself: one role owns and runs (development only)`,
    )
    return report
  }
  const [existing] = await owner.query<{ super: boolean }>(
    'select rolsuper as super from pg_roles where rolname = $1',
    [role],
  )
  if (!existing) {
    const secret = password === null ? '' : ` PASSWORD '${scramVerifier(password)}'`
    try {
      await owner.query(`CREATE ROLE ${ident(role)} LOGIN${secret}`, [])
    } catch (error) {
      // Another process starting at the same moment created it (duplicate_object): it is there, go on.
      if ((error as { code?: string }).code !== '42710') throw error
    }
    report.actions.push(`created role ${role} (LOGIN${password === null ? ', no password in DATABASE_URL' : ''})`)
  } else if (existing.super) {
    report.problems.push(`the runtime role ${role} is a superuser: it can disable triggers; use an ordinary role`)
  }
  const owned = await owner.query<{ name: string }>(
    `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind = 'r' and pg_get_userbyid(c.relowner) = $1 order by 1`,
    [role],
  )
  if (owned.length > 0) {
    report.problems.push(
      `the runtime role ${role} owns ${owned.map((t) => t.name).join(', ')}: make the migration role their owner ` +
        `(ALTER TABLE … OWNER TO …), or it can alter them and disable their triggers`,
    )
  }

  // Read first, then change in one transaction (the owner's pool may hold a single connection).
  const database = await currentDatabase(owner)
  const tables = await owner.query<{ name: string }>(
    "select tablename as name from pg_tables where schemaname = 'public' order by 1",
    [],
  )
  const granted = await owner.query<{ name: string; privilege: string }>(
    `select table_name as name, privilege_type as privilege from information_schema.role_table_grants
      where grantee = $1 and table_schema = 'public'`,
    [role],
  )
  const [defaults] = await owner.query<{ n: number }>(
    `select count(*)::int as n from pg_default_acl d, aclexplode(d.defaclacl) a
      where d.defaclrole = (select oid from pg_roles where rolname = current_user)
        and a.grantee = (select oid from pg_roles where rolname = $1)`,
    [role],
  )
  const r = ident(role)
  const statements = [`GRANT CONNECT ON DATABASE ${ident(database)} TO ${r}`, `GRANT USAGE ON SCHEMA public TO ${r}`]
  for (const { name } of tables) {
    const want = runtimePrivileges(name)
    const have = new Set(granted.filter((g) => g.name === name).map((g) => g.privilege))
    const add = want.filter((p) => !have.has(p))
    const drop = [...have].filter((p) => !want.includes(p as Privilege)).sort()
    if (add.length) statements.push(`GRANT ${add.join(', ')} ON TABLE public.${ident(name)} TO ${r}`)
    if (drop.length) statements.push(`REVOKE ${drop.join(', ')} ON TABLE public.${ident(name)} FROM ${r}`)
    const did = [add.length ? `granted ${add.join(', ')}` : '', drop.length ? `revoked ${drop.join(', ')}` : '']
    if (add.length || drop.length) report.actions.push(`${name}: ${did.filter(Boolean).join('; ')}`)
  }
  statements.push(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${r}`)
  // The scheduler adds monthly partitions through this SECURITY DEFINER function (migration 0033), and only so.
  statements.push(`GRANT EXECUTE ON FUNCTION public.tongban_ensure_case_partitions(date, date, text) TO ${r}`)
  if ((defaults?.n ?? 0) === 0) {
    statements.push(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE ON TABLES TO ${r}`)
    statements.push(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${r}`)
    report.actions.push('default privileges: tables later migrations create are readable, insertable, updatable')
  }
  // Serialised across processes starting together (the same grants twice would collide in the catalog).
  statements.unshift(`SELECT pg_advisory_xact_lock(${ROLES_LOCK_KEY})`)
  await owner.transaction((tx) => tx.execScript(statements.join(';\n')))
  return report
}

async function currentDatabase(db: Database): Promise<string> {
  const [row] = await db.query<{ name: string }>('select current_database() as name', [])
  return row?.name ?? ''
}

export interface RuntimeRoleCheck {
  role: string
  superuser: boolean
  /** Tables of schema public this role owns (it could alter them or disable their triggers). */
  owns: string[]
}

/**
 * Who the gateway runs as: a superuser, or the owner of tables, can rewrite the timeline past the
 * append-only triggers; the gateway warns at start when it does outside development.
 */
export async function checkRuntimeRole(database: Database): Promise<RuntimeRoleCheck> {
  const [row] = await database.query<{ role: string; superuser: boolean }>(
    'select current_user as role, (select rolsuper from pg_roles where rolname = current_user) as superuser',
    [],
  )
  const owned = await database.query<{ name: string }>(
    "select tablename as name from pg_tables where schemaname = 'public' and tableowner = current_user order by 1",
    [],
  )
  return { role: row?.role ?? '', superuser: row?.superuser === true, owns: owned.map((t) => t.name) }
}
