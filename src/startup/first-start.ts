/**
 * The first start: a gateway whose database holds no person token at all creates one admin token and
 * hands it over once, in a few plain lines on stdout (also when the log is JSON), with where the console
 * and the documentation are and how to make more tokens — the way Grafana or Jenkins hand over their
 * first credentials. Atomic through the database (an advisory lock around "no token yet → create one"),
 * so several processes starting at once create one token between them, and a later start none.
 */
import { sql } from 'drizzle-orm'
import { newPersonToken } from '../security/tokens.js'
import { type Database, queryRows } from '../store/db.js'
import { personTokens } from '../store/schema.js'

/** Any constant: the advisory lock that serialises first starts. */
const FIRST_START_LOCK = 0x7b_a9_00_01

/** Creates the first admin token if the database holds none; returns it (shown once), else undefined. */
export async function createFirstToken(database: Database): Promise<string | undefined> {
  return database.transaction(async ({ db }) => {
    await db.execute(sql`select pg_advisory_xact_lock(${FIRST_START_LOCK})`)
    const [row] = await queryRows<{ found: boolean }>(db, sql`select exists (select 1 from person_tokens) as found`)
    if (row?.found) return undefined
    const fresh = newPersonToken()
    await db.insert(personTokens).values({
      id: fresh.id,
      secretHash: fresh.hash,
      role: 'admin',
      name: 'first start (首次启动)',
    })
    return fresh.token
  })
}

/** The base URL a person on this machine opens: a wildcard listen address becomes 127.0.0.1. */
export function localBaseUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`
}

/** The few lines that hand the first token over. */
export function firstStartMessage(opts: { baseUrl: string; token: string; gatewayId: string }): string {
  const rule = '─'.repeat(72)
  return [
    '',
    rule,
    `  通办 Tongban (${opts.gatewayId}): first start, 首次启动`,
    '',
    `  Console   控制台    ${opts.baseUrl}/console`,
    `  API docs  接口文档  ${opts.baseUrl}/docs`,
    '',
    '  An admin token was created; it is shown only this once, keep it now.',
    '  已创建管理员令牌，仅显示这一次，请立即妥善保存：',
    '',
    `    ${opts.token}`,
    '',
    '  Sign in to the console with it, and issue the first security and auditor tokens',
    '  (三员分立: 安全管理员、审计员, docs/audit.md) on 人员令牌. More tokens (更多令牌):',
    '    npm run -s tongban -- tokens create --role security --name 姓名',
    '    npm run -s tongban -- tokens create --role auditor --name 姓名',
    '    npm run -s tongban -- tokens create --role operator --region 420303 --window w1 --name 姓名',
    rule,
    '',
  ].join('\n')
}

/** Writes the message to stdout directly (not through the logger: plain text even when logs are JSON). */
export function printFirstStart(opts: { baseUrl: string; token: string; gatewayId: string }): Promise<void> {
  return new Promise((resolve) => process.stdout.write(`${firstStartMessage(opts)}\n`, () => resolve()))
}
