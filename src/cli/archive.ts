/**
 * `tongban archive [--month YYYY-MM] [--out DIR] [--dry-run]`: exports each month of cases older than
 * ARCHIVE_RETENTION_MONTHS (or the one named, which must be) to `DIR/tongban-archive-<gateway>-<month>.jsonl`,
 * verifies the file it wrote, and only then detaches the month's partitions (services/archive.ts). Runs as the
 * tables' owner (DATABASE_MIGRATION_URL). Each month is one audit record (`cases.archive`).
 *
 * `tongban archive verify FILE [--jwks FILE|URL …]`: checks an export offline: every hash chain, every
 * inclusion proof and checkpoint signature, the trailer's digest. Exits 0 when valid, 1 otherwise, 2 on bad usage.
 */
import { open, readFile } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { loadConfig } from '../../config/env.js'
import { createLogger } from '../logger.js'
import { systemClock } from '../ports/clock.js'
import { loadGatewayKeys } from '../runtime/infrastructure.js'
import { exportMonth, monthsToArchive, verifyArchive } from '../services/archive.js'
import { cliOrigin, withAuditOrigin } from '../services/audit-trail/context.js'
import { PgCheckpointStore } from '../store/checkpoint-store.js'
import { openDatabase } from '../store/db.js'
import { PgCasePartitionStore } from '../store/partition-store.js'
import { cliTrail } from './admin.js'
import { loadTrustedJwks, parseFileAndJwks } from './trusted-jwks.js'

const USAGE = `usage: tongban archive [--month YYYY-MM] [--out DIR] [--dry-run]
       tongban archive verify FILE [--jwks FILE|URL …]`

export async function archiveCommand(args: string[]): Promise<number> {
  if (args[0] === 'verify') return verifyCommand(args.slice(1))
  const { values } = parseArgs({
    args,
    options: { month: { type: 'string' }, out: { type: 'string' }, 'dry-run': { type: 'boolean' } },
  })
  if (values.month !== undefined && !/^\d{4}-(0[1-9]|1[0-2])$/.test(values.month)) {
    console.error(`--month 应为 YYYY-MM，而不是 ${values.month}\n${USAGE}`)
    return 2
  }
  const config = loadConfig()
  const logger = createLogger('warn')
  const now = systemClock.now()
  const database = await openDatabase({ url: config.database.migrationUrl, dataDir: config.database.dataDir })
  try {
    const partitions = new PgCasePartitionStore(database)
    const due = monthsToArchive(await partitions.months(), now, config.partitions.archiveAfterMonths)
    if (values.month !== undefined && !due.includes(values.month)) {
      console.error(
        `${values.month} 不可归档：只归档早于 ${config.partitions.archiveAfterMonths} 个月 (ARCHIVE_RETENTION_MONTHS) 且仍挂接的月份` +
          (due.length ? `（可归档：${due.join(', ')}）` : '（目前没有）'),
      )
      return 1
    }
    const months = values.month !== undefined ? [values.month] : due
    if (months.length === 0) {
      console.log(`没有需要归档的月份 (ARCHIVE_RETENTION_MONTHS=${config.partitions.archiveAfterMonths})`)
      return 0
    }
    if (values['dry-run']) {
      for (const month of months) {
        const f = await partitions.fingerprint(month)
        console.log(`将归档 ${month}：${f.cases} 件案件，${f.events} 条事件 (dry run)`)
      }
      return 0
    }
    const keys = await loadGatewayKeys(config, logger)
    const out = path.resolve(values.out ?? '.')
    const trail = cliTrail(database, logger)
    for (const month of months) {
      const file = path.join(out, `tongban-archive-${config.gateway.id}-${month}.jsonl`)
      console.log(`导出 ${month} → ${file}`)
      // 'wx': an earlier export of the month is never overwritten.
      const handle = await open(file, 'wx')
      let exported: Awaited<ReturnType<typeof exportMonth>>
      try {
        exported = await exportMonth(
          {
            caller: null,
            deps: {
              archive: partitions,
              checkpoints: new PgCheckpointStore(database),
              gatewayId: config.gateway.id,
              keys: keys.jwks(),
              now,
            },
          },
          {
            month,
            write: async (line) => {
              await handle.write(line)
            },
            progress: (n) => console.log(`  已导出 ${n} 件`),
          },
        )
        await handle.sync()
      } finally {
        await handle.close()
      }
      // What was written is read back and checked before anything leaves the database.
      const verdict = verifyArchive(await readFile(file, 'utf8'), keys.jwks())
      if (!verdict.valid) {
        console.error(`${file} 校验未通过，${month} 未分离：`)
        for (const p of verdict.problems.slice(0, 20)) console.error(`  ${p.where}: ${p.problem}`)
        return 1
      }
      const detached = await withAuditOrigin(cliOrigin(), () =>
        trail.audited(null, 'cases.archive', `month:${month}`, async () => {
          const tables = await partitions.detach(month, exported.fingerprint)
          return {
            value: tables,
            change: { after: { file: path.basename(file), cases: exported.cases, events: exported.events, tables } },
          }
        }),
      )
      console.log(
        `已归档 ${month}：${exported.cases} 件案件，${exported.events} 条事件，校验通过；` +
          `分区已分离为 ${detached.join(', ')}（确认归档文件已妥善保存后可 DROP TABLE）`,
      )
    }
    return 0
  } finally {
    await database.close()
  }
}

async function verifyCommand(args: string[]): Promise<number> {
  const parsed = parseFileAndJwks(args, USAGE)
  if (!parsed) return 2
  const trusted = await loadTrustedJwks(parsed.jwks)
  const verdict = verifyArchive(await readFile(parsed.file, 'utf8'), trusted)
  console.log(JSON.stringify(verdict, null, 2))
  if (verdict.valid && verdict.anchor === 'file') {
    console.error('提示：用的是归档文件自带的公钥；用 --jwks 指定网关公布的公钥才能证明由谁签名')
  }
  return verdict.valid ? 0 : 1
}
