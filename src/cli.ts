#!/usr/bin/env node
/**
 * The `tongban` command. Each subcommand parses its own flags; configuration comes from the
 * environment (see config/env.ts and docs/operations.md).
 */
import cluster from 'node:cluster'
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from '../config/env.js'
import { ConfigCheckError, checkDirectory, formatProblem, loadDirectory } from '../config/load.js'
import { auditCommand, clientsCommand, cliTrail, keysCommand, pruneCommand, tokensCommand } from './cli/admin.js'
import { archiveCommand } from './cli/archive.js'
import { demoCommand } from './cli/demo.js'
import { doctorCommand } from './cli/doctor.js'
import { simCommand } from './cli/sim.js'
import { verifyCommand } from './cli/verify.js'
import { verifyEvidenceCommand } from './cli/verify-evidence.js'
import { createLogger, flushLogger, type Logger } from './logger.js'
import { openStore, startGateway, startWorker, superviseWorkers } from './main.js'
import { cliOrigin, withAuditOrigin } from './services/audit-trail/context.js'
import { logDestination } from './startup/log-format.js'
import { PgBindingStore } from './store/binding-store.js'
import { openDatabase } from './store/db.js'
import { PgDirectoryStore } from './store/directory-store.js'
import { migrate } from './store/migrate.js'
import { ensureRuntimeRole } from './store/roles.js'
import { version } from './version.js'

const usage = `tongban ${version}: the cross-region government service gateway (通办)

Usage: tongban <command> [options]

Commands:
  serve                 start the gateway (HTTP API and queue workers)
  worker                run the queue workers only (deliveries, retries), no HTTP
  migrate               apply pending database migrations
  seed [--config DIR]   load the configuration directory into the database (idempotent)
  config check [DIR]    validate a configuration directory; exits 1 listing every error
  clients add --id ID --regions CODE[,CODE…] (--jwks FILE | --jwks-url URL) [--name TEXT]
  clients list | clients remove ID
  clients keys ID --jwks FILE [--keep KID[,KID…] | --drop-old]
                        system clients (other regions' systems, peer gateways) and their keys
  tokens create --role admin|security|auditor|operator [--region CODE --window ID] [--name TEXT]
  tokens list | tokens revoke ID
                        people's tokens; the token is printed once, only its hash is stored
  keys rotate [--alg ES256|EdDSA]
                        add a new signing key; the old public key stays published
  keys revoke KID --at ISO-TIME [--client ID] [--reason TEXT] | keys revocations
                        revoke a key (this gateway's, or a client's) as compromised from a time
  keys reseal [--batch N] [--after CASE] [--max-batches N]
                        seal stored identity numbers and phones again under IDENTITY_KEY and PII_CIPHER
  audit verify [CASE] [--witness URL …]
                        recompute the hash chains of every case (or one) and check them against the signed
                        checkpoints and the copies the witnesses hold; exits 1 on a break or a difference
  audit log [--from ISO] [--to ISO] [--actor ID] [--action A] [--target T] [--outcome O] [--limit N] [--json]
                        the audit trail of administrative and security actions, newest first
  prune [--dry-run]     delete uploaded files that no case uses (after FILE_UNUSED_RETENTION_HOURS) and
                        idempotency answers older than 48 h; the workers also do it every hour
  sim [--port N --gateway-url URL --gateway-id ID --key-file F …] | sim --print-jwks --key-file F
                        a simulated city system for demos and tests (tongban sim --help)
  verify RESULT [--jwks FILE|URL]
                        check a result JWS offline with the issuer's public keys, or without --jwks
                        against what this gateway trusts; exits 1 if invalid
  archive [--month YYYY-MM] [--out DIR] [--dry-run]
                        export the months of cases older than ARCHIVE_RETENTION_MONTHS to verifiable files,
                        then detach their partitions (as the tables' owner)
  archive verify FILE [--jwks FILE|URL …]
                        check an archive file offline; exits 1 naming each problem
  verify-evidence FILE [--jwks FILE|URL …]
                        check a case's evidence bundle offline, end to end; exits 1 naming each problem
  doctor [--grace-seconds N] [--limit N]
                        list the cases stranded with nothing to move them (no live dispatch job, no open
                        dead letter); exits 1 when it finds any
  demo [--keep]         two gateways and a simulated city system on loopback, cases in each mode;
                        --keep leaves them running (console addresses, admin tokens) until Ctrl-C
  version               print the version

Environment: PORT, DATABASE_URL (unset: embedded database in TONGBAN_DATA_DIR), REDIS_URL,
QUEUE_PREFIX, GATEWAY_ID, TONGBAN_DATA_DIR, TONGBAN_CONFIG_DIR, LOG_LEVEL, TONGBAN_KEYS(_FILE),
IDENTITY_KEY(_FILE), JWKS_ALLOW_HOSTS. Every variable: docs/operations.md.
`

type Command = (args: string[]) => Promise<number>

/** Runs until SIGTERM or SIGINT, then closes, flushes the log and exits (1 if closing failed). */
function untilSignal(logger: Logger, message: string, close: () => Promise<void>): Promise<number> {
  const stop = (signal: string) => {
    logger.info({ signal }, message)
    close().then(
      () => flushLogger(logger).then(() => process.exit(0)),
      (err) => {
        logger.error({ err }, 'shutdown failed')
        flushLogger(logger).then(() => process.exit(1))
      },
    )
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
  return new Promise<number>(() => {})
}

const commands: Record<string, Command> = {
  async serve() {
    const config = loadConfig()
    const logger = createLogger(config.logLevel, logDestination(config.logFormat))
    if (config.http.workers > 1 && cluster.isPrimary) return superviseWorkers(config, logger)
    // The signal handlers come first: a SIGTERM that arrives while the gateway starts closes it once started.
    const starting = startGateway(config, logger)
    const running = untilSignal(logger, 'signal received', async () => (await starting).close())
    await starting
    return running
  },

  /** Queue workers only (no HTTP): scale deliveries separately from the API. */
  async worker() {
    const config = loadConfig()
    const logger = createLogger(config.logLevel, logDestination(config.logFormat))
    const starting = startWorker(config, logger)
    const running = untilSignal(logger, 'signal received: letting in-flight jobs finish', async () =>
      (await starting).close(),
    )
    await starting
    return running
  },

  async migrate() {
    const config = loadConfig()
    const { url, migrationUrl, dataDir } = config.database
    const database = await openDatabase({ url: migrationUrl, dataDir })
    try {
      const { applied, current } = await migrate(database)
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'nothing to apply')
      console.log(`schema version ${current} (${database.kind})`)
      if (url !== undefined && url !== migrationUrl) {
        // The runtime role (DATABASE_URL's user): created if missing, its grants checked and fixed.
        const roles = await ensureRuntimeRole(database, url)
        for (const action of roles.actions) console.log(`runtime role ${roles.role}: ${action}`)
        if (roles.actions.length === 0) console.log(`runtime role ${roles.role}: grants already right`)
        for (const problem of roles.problems) console.warn(`warning: ${problem}`)
        return roles.problems.length === 0 ? 0 : 1
      }
      if (database.kind === 'postgres') {
        console.log('one role owns and runs the database: set DATABASE_MIGRATION_URL for two roles (docs/trust.md)')
      }
      return 0
    } finally {
      await database.close()
    }
  },

  async seed(args) {
    const { values } = parseArgs({ args, options: { config: { type: 'string' } } })
    const config = loadConfig()
    const logger = createLogger('warn')
    const { database } = await openStore(config, logger)
    try {
      const { directory, bindings, warnings } = await loadDirectory(values.config ?? config.configDir)
      for (const w of warnings) console.warn(`warning: ${formatProblem(w)}`)
      const trail = cliTrail(database, logger)
      const { report, bound } = await withAuditOrigin(cliOrigin(), () =>
        trail.audited(null, 'config.seed', `config:${values.config ?? config.configDir}`, async () => {
          const report = await new PgDirectoryStore(database.db).seed(directory, 'cli')
          const bound = await new PgBindingStore(database).seed(bindings, 'cli')
          const { agreementConflicts: _c, ...counts } = report
          return { value: { report, bound }, change: { after: { ...counts, bindingsAdded: bound } } }
        }),
      )
      console.log(
        `regions ${report.regions}, items ${report.items}, things ${report.things}, calendars ${report.calendars}; ` +
          `agreement versions inserted ${report.agreementsInserted}, unchanged ${report.agreementsUnchanged}; ` +
          `bindings added ${bound} (existing ones are kept)`,
      )
      for (const c of report.agreementConflicts) {
        console.warn(`warning: agreement ${c} differs from the stored version; give the change a new version number`)
      }
      return 0
    } finally {
      await database.close()
    }
  },

  async config(args) {
    const [sub, dir] = args
    if (sub !== 'check') {
      console.error('usage: tongban config check [DIR]')
      return 2
    }
    const target = dir ?? loadConfig().configDir
    const { directory, errors, warnings } = await checkDirectory(target)
    for (const w of warnings) console.warn(`warning: ${formatProblem(w)}`)
    for (const e of errors) console.error(`error: ${formatProblem(e)}`)
    if (errors.length > 0) {
      console.error(`${target}: ${errors.length} error(s)`)
      return 1
    }
    console.log(
      `${target}: ok (${directory.regions.length} regions, ${directory.items.length} items, ` +
        `${directory.things.length} things, ${directory.agreements.length} agreements, ${directory.calendars.length} calendars)`,
    )
    return 0
  },

  clients: clientsCommand,
  tokens: tokensCommand,
  keys: keysCommand,
  audit: auditCommand,
  prune: pruneCommand,
  archive: archiveCommand,
  sim: simCommand,
  demo: demoCommand,
  doctor: doctorCommand,
  verify: verifyCommand,
  'verify-evidence': verifyEvidenceCommand,

  async version() {
    console.log(version)
    return 0
  },
}

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    console.log(usage)
    return name === undefined ? 2 : 0
  }
  const command = commands[name]
  if (!command) {
    console.error(`unknown command "${name}"\n\n${usage}`)
    return 2
  }
  try {
    return await command(rest)
  } catch (e) {
    if (e instanceof ConfigError || e instanceof ConfigCheckError) {
      console.error(e.message)
      return 1
    }
    console.error(`tongban ${name}: ${(e as Error).message}`)
    return 1
  }
}

runCli(process.argv.slice(2)).then((code) => {
  if (code !== 0 || !['serve', 'worker', 'sim'].includes(process.argv[2] ?? '')) process.exit(code)
})
