/**
 * The gateway's environment: parsed once in `main.ts` (or the CLI) into a frozen `Config`.
 * Factories receive their slice of it; nothing else reads `process.env`.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { knownMediaTypes } from '../src/domain/files.js'

/**
 * A rate limit: `POINTS/SECONDS` (e.g. `600/60`: at most 600 requests in any 60-second window, all at once
 * if the caller likes), or `off`/`0`.
 */
const RateLimit = z
  .string()
  .trim()
  .transform((s, ctx) => {
    if (s === 'off' || s === '0') return null
    const m = /^(\d{1,7})\/(\d{1,6})$/.exec(s)
    const points = Number(m?.[1])
    const seconds = Number(m?.[2])
    if (!m || points < 1 || seconds < 1) {
      ctx.addIssue({ code: 'custom', message: 'requests/seconds such as 600/60, or off' })
      return z.NEVER
    }
    return { points, seconds }
  })

const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

const optionalString = z
  .string()
  .transform((s) => s.trim())
  .pipe(z.string())
  .optional()
  .transform((s) => (s === undefined || s === '' ? undefined : s))

/** The shipped configuration: `config/data` beside this file, also when running the compiled `dist/config/env.js`. */
export const defaultConfigDir = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const candidates = [path.join(here, 'data'), path.join(here, '..', '..', 'config', 'data')]
  return candidates.find((dir) => existsSync(dir)) ?? (candidates[0] as string)
})()

export const defaultRedisUrl = 'redis://127.0.0.1:6379'

/**
 * `host:port,host:port` (REDIS_SENTINELS, REDIS_CLUSTER_NODES): a hostname, an IPv4 address or a bracketed
 * IPv6 address, each with its port.
 */
const HostPorts = optionalString.transform((s, ctx) => {
  if (s === undefined) return undefined
  const nodes = s.split(',').map((part) => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9][a-zA-Z0-9.-]*):(\d{1,5})$/.exec(part.trim())
    const port = Number(m?.[2])
    return m && port >= 1 && port <= 65_535 ? { host: (m[1] as string).replace(/^\[|\]$/g, ''), port } : undefined
  })
  if (nodes.some((n) => n === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'comma-separated host:port, e.g. 10.0.0.1:26379,10.0.0.2:26379' })
    return z.NEVER
  }
  return nodes as { host: string; port: number }[]
})

export const Env = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
    HOST: z.string().default('0.0.0.0'),
    DATABASE_URL: optionalString,
    /**
     * The owner's connection, for migrations only (`tongban migrate`, and `serve`/`worker` at start); the
     * gateway itself runs as DATABASE_URL's role, which may only read and append (docs/trust.md). Default:
     * DATABASE_URL (one role, for development and the embedded database).
     */
    DATABASE_MIGRATION_URL: optionalString,
    /** `development` silences the warning about running as the owner of the tables. */
    NODE_ENV: optionalString,
    /** Unset: redis://127.0.0.1:6379, or a private redis-server in the data directory when nothing answers there. */
    REDIS_URL: optionalString,
    /**
     * Redis behind Sentinel instead of REDIS_URL: the sentinels (`host:port,…`), and the name of the primary
     * they watch (REDIS_SENTINEL_NAME, e.g. `mymaster`). REDIS_PASSWORD and REDIS_USERNAME are the data nodes',
     * REDIS_SENTINEL_PASSWORD the sentinels' own (docs/operations.md).
     */
    REDIS_SENTINELS: HostPorts,
    REDIS_SENTINEL_NAME: optionalString,
    REDIS_SENTINEL_PASSWORD: optionalString,
    /** A Redis Cluster instead of REDIS_URL: some of its primaries (`host:port,…`); the rest are discovered. */
    REDIS_CLUSTER_NODES: HostPorts,
    /** The data nodes' ACL user and password with REDIS_SENTINELS or REDIS_CLUSTER_NODES (REDIS_URL carries its own). */
    REDIS_USERNAME: optionalString,
    REDIS_PASSWORD: optionalString,
    /** `auto`: with REDIS_URL unset and no Redis on 127.0.0.1:6379, start a private redis-server if one is on the PATH. */
    PRIVATE_REDIS: z.enum(['auto', 'off']).default('auto'),
    /** While Redis or PostgreSQL is unreachable, a reminder is logged every this many ms. */
    OUTAGE_REMINDER_MS: z.coerce.number().int().min(1000).default(60_000),
    /** `tongban worker` serves /healthz and /readyz on this port (0: any free port, logged). */
    WORKER_HEALTH_PORT: z.coerce.number().int().min(0).max(65_535).default(8081),
    QUEUE_PREFIX: z
      .string()
      .regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-" (1–64 characters)')
      .default('tongban'),
    GATEWAY_ID: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lower-case letters, digits and "-", e.g. gw-420300')
      .default('gw-local'),
    TONGBAN_DATA_DIR: z.string().default('./data'),
    TONGBAN_CONFIG_DIR: z.string().default(defaultConfigDir),
    LOG_LEVEL: LogLevel.default('info'),
    /** `auto`: readable lines on a terminal, JSON otherwise; `json` or `pretty` to force one. */
    LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
    /** Algorithm of keys generated by this gateway. */
    SIGNING_ALG: z.enum(['ES256', 'EdDSA', 'SM2']).default('ES256'),
    /** The gateway's key set as JSON (shared by every instance), or a file holding it; else generated in the data dir. */
    TONGBAN_KEYS: optionalString,
    TONGBAN_KEYS_FILE: optionalString,
    /** The digest of each new event's link in its case's hash chain (docs/operations.md); stored with the event. */
    HASH_ALG: z.enum(['sha256', 'sm3']).default('sha256'),
    /** The cipher that seals identity numbers and phones at rest; older values stay readable (`tongban keys reseal`). */
    PII_CIPHER: z.enum(['aes-256-gcm', 'sm4-gcm']).default('aes-256-gcm'),
    /** 32 bytes, base64: encrypts identity numbers at rest; or a file holding it; else generated in the data dir. */
    IDENTITY_KEY: optionalString,
    IDENTITY_KEY_FILE: optionalString,
    /** Identity keys replaced by IDENTITY_KEY (comma-separated base64), still read until `tongban keys reseal` ran. */
    IDENTITY_KEY_PREVIOUS: z
      .string()
      .default('')
      .transform((s) =>
        s
          .split(',')
          .map((k) => k.trim())
          .filter(Boolean),
      ),
    /** Comma-separated hosts a client's JWKS URL may point at. */
    JWKS_ALLOW_HOSTS: z
      .string()
      .default('')
      .transform((s) =>
        s
          .split(',')
          .map((h) => h.trim())
          .filter(Boolean),
      ),
    /**
     * How long a queue worker holds a job before another may take it over (BullMQ lock and stalled-job
     * check): a worker that dies mid-delivery hands its job on after about this long.
     */
    WORKER_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
    /**
     * Jobs each queue worker of this process runs at once; 0: `tongban serve` runs no queue workers (an
     * API-only instance, with `tongban worker` processes elsewhere).
     */
    QUEUE_CONCURRENCY: z.coerce.number().int().min(0).max(200).default(8),
    /**
     * Deliveries (`case.dispatch` jobs) each worker process runs at once, across all bindings; each binding's
     * own `concurrency` caps its share. A delivery mostly waits (the other system, the commit), so this is
     * higher than QUEUE_CONCURRENCY.
     */
    DISPATCH_CONCURRENCY: z.coerce.number().int().min(1).max(500).default(32),
    /**
     * Every this many ms, cases still `submitted` after SWEEP_STALE_MS whose dispatch job has vanished from
     * Redis, and events (of the last 30 days) not forwarded after SWEEP_STALE_MS whose event job has vanished,
     * are queued again (0: never).
     */
    SWEEP_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
    SWEEP_STALE_MS: z.coerce.number().int().min(1000).default(120_000),
    /** HTTP worker processes of `tongban serve` (node:cluster); more than 1 needs DATABASE_URL. */
    WORKERS: z.coerce.number().int().min(1).max(64).default(1),
    /** Request bodies above this many bytes are refused with 413. */
    BODY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(1024 * 1024),
    /** Uploads (POST /v1/files) above this many bytes are refused with 413. */
    FILE_MAX_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024 * 1024)
      .default(20 * 1024 * 1024),
    /**
     * An uploaded file that no case references is deleted this many hours after its last upload or
     * reference by a submission (the files are scans of identity cards and the like).
     */
    FILE_UNUSED_RETENTION_HOURS: z.coerce
      .number()
      .int()
      .min(1)
      .default(7 * 24),
    /**
     * Months of case partitions kept ahead of the current one (migration 0033): the `partitions` schedule
     * creates them once a day, so no case is ever minted in a month without its partition.
     */
    CASE_PARTITIONS_AHEAD: z.coerce.number().int().min(1).max(24).default(3),
    /**
     * Archive policy: `tongban archive` exports and detaches the months of cases older than this many months
     * (a province keeps its case records for years; default ten). 0: no month is ever archived.
     */
    ARCHIVE_RETENTION_MONTHS: z.coerce.number().int().min(0).max(1200).default(120),
    /**
     * Every this many ms, the performance report's figures of the closed months not yet computed, or changed since,
     * are computed (at most 12 months a run; 0: never, and every report reads the case rows).
     */
    REPORT_MONTHS_INTERVAL_MS: z.coerce.number().int().min(0).default(600_000),
    /** Every this many ms, unused files and expired idempotency answers are deleted (0: only `tongban prune`). */
    RETENTION_INTERVAL_MS: z.coerce.number().int().min(0).default(3_600_000),
    /** Media types a material file may have (comma-separated); each must be one the gateway can check. */
    FILE_MEDIA_TYPES: z
      .string()
      .default('application/pdf,image/jpeg,image/png,application/ofd')
      .transform((s) =>
        s
          .split(',')
          .map((t) => t.trim().toLowerCase())
          .filter(Boolean),
      )
      .refine((list) => list.length > 0 && list.every((t) => knownMediaTypes.includes(t)), {
        message: `comma-separated media types among ${knownMediaTypes.join(', ')}`,
      }),
    /**
     * Every this many ms, the processes that run the workers sign a checkpoint over the chain heads changed
     * since the last one (none when nothing changed) and send it to the peer gateways to witness (0: never).
     */
    CHECKPOINT_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
    /** A web console session ends after this many minutes without a request. */
    CONSOLE_IDLE_MINUTES: z.coerce
      .number()
      .int()
      .min(1)
      .max(24 * 60)
      .default(30),
    /** Per system client (its id), over all instances sharing REDIS_URL; allows a batch submission's burst. */
    RATE_LIMIT_CLIENT: RateLimit.prefault('1200/60'),
    /** Per person's token (operator or admin), API calls of the console's pages included. */
    RATE_LIMIT_PERSON: RateLimit.prefault('600/60'),
    /** Per source address on the public `POST /v1/results/verify`. */
    RATE_LIMIT_VERIFY: RateLimit.prefault('60/60'),
    /** Per source address on the console's sign-in form (`POST /console/login`). */
    RATE_LIMIT_SIGNIN: RateLimit.prefault('20/60'),
    /** Failed sign-ins in a row (per address, and per token id) before sign-in is locked; 0: never locked. */
    SIGNIN_LOCK_AFTER: z.coerce.number().int().min(0).max(1000).default(5),
    /** The first lockout; each further failure doubles it, up to SIGNIN_LOCK_MAX_SECONDS. */
    SIGNIN_LOCK_SECONDS: z.coerce.number().int().min(1).default(60),
    SIGNIN_LOCK_MAX_SECONDS: z.coerce.number().int().min(1).default(3600),
    /**
     * How many proxies in front of the gateway to trust for X-Forwarded-For: 0 (default) uses the socket's
     * address; N takes the Nth address from the right of X-Forwarded-For (the one the outermost trusted proxy saw).
     */
    TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
    /** Audit records are kept this many days (at least 180, the Cybersecurity Law's floor for network logs). */
    AUDIT_RETENTION_DAYS: z.coerce
      .number()
      .int()
      .min(180, 'at least 180 (six months, 网络安全法 第二十一条)')
      .default(180),
    /**
     * Working hours in China Standard Time, Monday to Friday, e.g. `08:30-18:00`: administrative actions
     * outside them raise the `audit_off_hours` alert. Unset: no such alert.
     */
    AUDIT_WORKING_HOURS: optionalString.pipe(
      z
        .string()
        .regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/, 'HH:MM-HH:MM, e.g. 08:30-18:00')
        .optional(),
    ),
    /** Failed sign-ins from one source address within 15 minutes that raise the `signin_failures` alert. */
    AUDIT_SIGNIN_ALERT: z.coerce.number().int().min(1).default(10),
    /** Every audit record is also POSTed here as JSON (a central log platform's HTTP input); unset: none. */
    AUDIT_SINK_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    /** Every audit record is also sent as an RFC 5424 syslog message over UDP (`udp://host:514`); unset: none. */
    AUDIT_SYSLOG_URL: optionalString.pipe(
      z
        .url({ protocol: /^udp$/ })
        .refine((u) => new URL(u).port !== '', 'udp://HOST:PORT, e.g. udp://10.0.0.5:514')
        .optional(),
    ),
  })
  .superRefine((env, ctx) => {
    if (env.SIGNIN_LOCK_MAX_SECONDS < env.SIGNIN_LOCK_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['SIGNIN_LOCK_MAX_SECONDS'],
        message: 'must be at least SIGNIN_LOCK_SECONDS',
      })
    }
    if (env.DATABASE_URL !== undefined && !/^postgres(ql)?:\/\//.test(env.DATABASE_URL)) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_URL'],
        message: 'must be a postgres:// URL, or unset to use the embedded database in TONGBAN_DATA_DIR',
      })
    }
    if (env.DATABASE_MIGRATION_URL !== undefined && env.DATABASE_URL === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_MIGRATION_URL'],
        message: 'needs DATABASE_URL too (the runtime role); the embedded database has one role: unset it',
      })
    }
    if (env.DATABASE_MIGRATION_URL !== undefined && !/^postgres(ql)?:\/\//.test(env.DATABASE_MIGRATION_URL)) {
      ctx.addIssue({ code: 'custom', path: ['DATABASE_MIGRATION_URL'], message: 'must be a postgres:// URL' })
    }
    if (env.WORKERS > 1 && env.DATABASE_URL === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['WORKERS'],
        message: 'several worker processes cannot share the embedded database: set DATABASE_URL, or WORKERS=1',
      })
    }
    if (env.REDIS_URL !== undefined && !/^rediss?:\/\//.test(env.REDIS_URL)) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'must be a redis:// or rediss:// URL' })
    }
    checkRedisTopology(env, ctx)
  })
  .transform((env) => ({
    http: {
      port: env.PORT,
      host: env.HOST,
      bodyLimitBytes: env.BODY_LIMIT_BYTES,
      workers: env.WORKERS,
      workerHealthPort: env.WORKER_HEALTH_PORT,
    },
    console: { idleMinutes: env.CONSOLE_IDLE_MINUTES },
    database: {
      url: env.DATABASE_URL,
      migrationUrl: env.DATABASE_MIGRATION_URL ?? env.DATABASE_URL,
      dataDir: path.resolve(env.TONGBAN_DATA_DIR),
    },
    environment: env.NODE_ENV ?? 'production',
    redis: {
      target: redisTargetOf(env),
      /** Whether REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES was set (a private Redis is never started then). */
      configured:
        env.REDIS_URL !== undefined || env.REDIS_SENTINELS !== undefined || env.REDIS_CLUSTER_NODES !== undefined,
      private: env.PRIVATE_REDIS,
      outageReminderMs: env.OUTAGE_REMINDER_MS,
      /** The prefix of the gateway's own keys (circuits, replay records, rate limits, alerts, poll turns). */
      queuePrefix: env.QUEUE_PREFIX,
      /**
       * The prefix of BullMQ's keys: QUEUE_PREFIX, hash-tagged on a Redis Cluster (`{tongban}`) so that each
       * queue's keys, which BullMQ's scripts touch together, share one slot.
       */
      jobPrefix: env.REDIS_CLUSTER_NODES !== undefined ? `{${env.QUEUE_PREFIX}}` : env.QUEUE_PREFIX,
      workerLockMs: env.WORKER_LOCK_MS,
      concurrency: env.QUEUE_CONCURRENCY,
      dispatchConcurrency: env.DISPATCH_CONCURRENCY,
      sweepIntervalMs: env.SWEEP_INTERVAL_MS,
      sweepStaleMs: env.SWEEP_STALE_MS,
    },
    gateway: { id: env.GATEWAY_ID },
    keys: { alg: env.SIGNING_ALG, json: env.TONGBAN_KEYS, file: env.TONGBAN_KEYS_FILE },
    identityKey: {
      base64: env.IDENTITY_KEY,
      file: env.IDENTITY_KEY_FILE,
      previous: env.IDENTITY_KEY_PREVIOUS,
      cipher: env.PII_CIPHER,
    },
    hashAlg: env.HASH_ALG,
    jwksAllowHosts: env.JWKS_ALLOW_HOSTS,
    files: {
      maxBytes: env.FILE_MAX_BYTES,
      mediaTypes: env.FILE_MEDIA_TYPES,
      unusedRetentionHours: env.FILE_UNUSED_RETENTION_HOURS,
    },
    retentionIntervalMs: env.RETENTION_INTERVAL_MS,
    reportMonthsIntervalMs: env.REPORT_MONTHS_INTERVAL_MS,
    partitions: { ahead: env.CASE_PARTITIONS_AHEAD, archiveAfterMonths: env.ARCHIVE_RETENTION_MONTHS },
    limits: {
      client: env.RATE_LIMIT_CLIENT,
      person: env.RATE_LIMIT_PERSON,
      verify: env.RATE_LIMIT_VERIFY,
      signin: env.RATE_LIMIT_SIGNIN,
      signinLock: {
        after: env.SIGNIN_LOCK_AFTER,
        seconds: env.SIGNIN_LOCK_SECONDS,
        maxSeconds: env.SIGNIN_LOCK_MAX_SECONDS,
      },
      trustProxy: env.TRUST_PROXY,
    },
    checkpoints: { intervalMs: env.CHECKPOINT_INTERVAL_MS },
    audit: {
      retentionDays: env.AUDIT_RETENTION_DAYS,
      workingHours: env.AUDIT_WORKING_HOURS,
      signinAlert: env.AUDIT_SIGNIN_ALERT,
      sinkUrl: env.AUDIT_SINK_URL,
      syslogUrl: env.AUDIT_SYSLOG_URL,
    },
    dataDir: path.resolve(env.TONGBAN_DATA_DIR),
    configDir: path.resolve(env.TONGBAN_CONFIG_DIR),
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT,
  }))

export type Config = z.output<typeof Env>

/** Where the gateway's Redis is: one server (REDIS_URL), a primary behind Sentinel, or a Redis Cluster. */
export type RedisTarget =
  | { kind: 'url'; url: string }
  | {
      kind: 'sentinel'
      sentinels: { host: string; port: number }[]
      name: string
      username?: string | undefined
      password?: string | undefined
      sentinelPassword?: string | undefined
    }
  | {
      kind: 'cluster'
      nodes: { host: string; port: number }[]
      username?: string | undefined
      password?: string | undefined
    }

interface RedisEnv {
  REDIS_URL?: string | undefined
  REDIS_SENTINELS?: { host: string; port: number }[] | undefined
  REDIS_SENTINEL_NAME?: string | undefined
  REDIS_SENTINEL_PASSWORD?: string | undefined
  REDIS_CLUSTER_NODES?: { host: string; port: number }[] | undefined
  REDIS_USERNAME?: string | undefined
  REDIS_PASSWORD?: string | undefined
}

/** Exactly one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES (none: the default URL), with what each needs. */
function checkRedisTopology(env: RedisEnv, ctx: z.RefinementCtx): void {
  const set = (['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const).filter((k) => env[k] !== undefined)
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message })
  if (set.length > 1) {
    issue(
      set[1] as string,
      `set only one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES (got ${set.join(' and ')})`,
    )
  }
  if (env.REDIS_SENTINELS !== undefined && env.REDIS_SENTINEL_NAME === undefined) {
    issue(
      'REDIS_SENTINEL_NAME',
      'needed with REDIS_SENTINELS: the name the sentinels know the primary by, e.g. mymaster',
    )
  }
  if (env.REDIS_SENTINEL_NAME !== undefined && env.REDIS_SENTINELS === undefined) {
    issue('REDIS_SENTINEL_NAME', 'only with REDIS_SENTINELS (host:port of each sentinel)')
  }
  if (env.REDIS_SENTINEL_PASSWORD !== undefined && env.REDIS_SENTINELS === undefined) {
    issue('REDIS_SENTINEL_PASSWORD', 'only with REDIS_SENTINELS')
  }
  for (const k of ['REDIS_USERNAME', 'REDIS_PASSWORD'] as const) {
    if (env[k] !== undefined && env.REDIS_SENTINELS === undefined && env.REDIS_CLUSTER_NODES === undefined) {
      issue(
        k,
        'only with REDIS_SENTINELS or REDIS_CLUSTER_NODES; with REDIS_URL put it in the URL (redis://user:password@host:port)',
      )
    }
  }
}

function redisTargetOf(env: RedisEnv): RedisTarget {
  const auth = {
    ...(env.REDIS_USERNAME !== undefined ? { username: env.REDIS_USERNAME } : {}),
    ...(env.REDIS_PASSWORD !== undefined ? { password: env.REDIS_PASSWORD } : {}),
  }
  if (env.REDIS_SENTINELS !== undefined) {
    return {
      kind: 'sentinel',
      sentinels: env.REDIS_SENTINELS,
      name: env.REDIS_SENTINEL_NAME ?? '',
      ...auth,
      ...(env.REDIS_SENTINEL_PASSWORD !== undefined ? { sentinelPassword: env.REDIS_SENTINEL_PASSWORD } : {}),
    }
  }
  if (env.REDIS_CLUSTER_NODES !== undefined) return { kind: 'cluster', nodes: env.REDIS_CLUSTER_NODES, ...auth }
  return { kind: 'url', url: env.REDIS_URL ?? defaultRedisUrl }
}

/** A configuration error: its message lists every bad variable and what to do. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Parses the environment into a frozen Config.
 * @throws ConfigError listing every invalid variable, e.g. `PORT: Too big: expected number to be <=65535`.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  const parsed = Env.safeParse(env)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`)
    throw new ConfigError(`invalid environment:\n${lines.join('\n')}`)
  }
  return deepFreeze(parsed.data)
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v)
    Object.freeze(o)
  }
  return o
}
