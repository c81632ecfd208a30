/**
 * The gateway's environment: parsed once in `main.ts` (or the CLI) into a frozen `Config`.
 * Factories receive their slice of it; nothing else reads `process.env`.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'

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

export const Env = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
    HOST: z.string().default('0.0.0.0'),
    DATABASE_URL: optionalString,
    REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
    QUEUE_PREFIX: z
      .string()
      .regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-" (1–64 characters)')
      .default('tongban'),
    GATEWAY_ID: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lower-case letters, digits and "-", e.g. gw-420300')
      .default('gw-local'),
    /** The region this gateway serves, e.g. 420300; informative in the foundation. */
    GATEWAY_REGION: optionalString,
    TONGBAN_DATA_DIR: z.string().default('./data'),
    TONGBAN_CONFIG_DIR: z.string().default(defaultConfigDir),
    LOG_LEVEL: LogLevel.default('info'),
    /** Request bodies above this many bytes are refused with 413. */
    BODY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(1024 * 1024),
  })
  .superRefine((env, ctx) => {
    if (env.DATABASE_URL !== undefined && !/^postgres(ql)?:\/\//.test(env.DATABASE_URL)) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_URL'],
        message: 'must be a postgres:// URL, or unset to use the embedded database in TONGBAN_DATA_DIR',
      })
    }
    if (!/^rediss?:\/\//.test(env.REDIS_URL)) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'must be a redis:// or rediss:// URL' })
    }
  })
  .transform((env) => ({
    http: { port: env.PORT, host: env.HOST, bodyLimitBytes: env.BODY_LIMIT_BYTES },
    database: { url: env.DATABASE_URL, dataDir: path.resolve(env.TONGBAN_DATA_DIR) },
    redis: { url: env.REDIS_URL, queuePrefix: env.QUEUE_PREFIX },
    gateway: { id: env.GATEWAY_ID, region: env.GATEWAY_REGION },
    dataDir: path.resolve(env.TONGBAN_DATA_DIR),
    configDir: path.resolve(env.TONGBAN_CONFIG_DIR),
    logLevel: env.LOG_LEVEL,
  }))

export type Config = z.output<typeof Env>

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
