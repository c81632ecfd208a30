/**
 * PgDirectoryStore and migrations against the real PostgreSQL on this machine and against PGlite:
 * one suite, run once per engine, so both behave alike.
 */
import os from 'node:os'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Agreement, CalendarFile, type Directory, Item, type Region, RegionRef, Thing } from '../../config/schema.js'
import { AppError } from '../../src/errors.js'
import { type Database, openDatabase, queryRows } from '../../src/store/db.js'
import { PgDirectoryStore } from '../../src/store/directory-store.js'
import { migrate } from '../../src/store/migrate.js'
import { migrations } from '../../src/store/migrations/index.js'
import { createTestDatabase, createTestPglite } from '../helpers/db.js'

/** Every migration's name as migrate() reports it (`0001-directory` …), so a new migration needs no edit here. */
const migrationNames = migrations.map((m) => `${String(m.version).padStart(4, '0')}-${m.name}`)

interface Opened {
  database: Database
  drop(): Promise<void>
}

interface Backend {
  name: 'postgres' | 'pglite'
  open(opts?: { migrate?: boolean }): Promise<Opened>
  /** Two handles on one unmigrated database, as two gateway processes would have (PGlite: one handle twice). */
  openTwice(): Promise<{ a: Database; b: Database; drop(): Promise<void> }>
}

const backends: Backend[] = [
  {
    name: 'postgres',
    open: (opts) => createTestDatabase(opts),
    async openTwice() {
      const first = await createTestDatabase({ migrate: false })
      const b = await openDatabase({ url: first.url, dataDir: os.tmpdir(), poolSize: 2 })
      return {
        a: first.database,
        b,
        async drop() {
          await b.close()
          await first.drop()
        },
      }
    },
  },
  {
    name: 'pglite',
    open: (opts) => createTestPglite(opts),
    async openTwice() {
      const only = await createTestPglite({ migrate: false })
      return { a: only.database, b: only.database, drop: only.drop }
    },
  },
]

// ---- fixture: real codes of Shiyan, Hubei; parsed with the config schemas so a wrong one fails here.

function region(r: Omit<Region, 'successors' | 'tags' | 'status'> & Partial<Region>): Region {
  RegionRef.parse(r.code)
  return { status: 'active', successors: [], tags: [], ...r }
}

const regions: Region[] = [
  region({ code: '420000', name: '湖北省', level: 'province', parent: null, province: '420000', tags: ['hubei'] }),
  region({
    code: '420300',
    name: '十堰市',
    level: 'prefecture',
    parent: '420000',
    province: '420000',
    tags: ['shiyan'],
  }),
  region({ code: '420303', name: '张湾区', level: 'county', parent: '420300', province: '420000', tags: ['shiyan'] }),
  region({ code: '420304', name: '郧阳区', level: 'county', parent: '420300', province: '420000', tags: ['shiyan'] }),
  region({
    code: '420321',
    name: '郧县',
    level: 'county',
    parent: '420300',
    province: '420000',
    status: 'retired',
    successors: ['420304'],
  }),
  region({ code: 'Z42030001', name: '十堰经济技术开发区', level: 'zone', parent: '420300', province: '420000' }),
]

const items: Item[] = [
  Item.parse({
    code: 'individual-business-registration',
    name: '个体工商户设立登记',
    department: '十堰市市场监督管理局',
    departmentCode: 'shiyan-amr',
    serviceObject: 'person',
    statutoryLimit: { days: 15, unit: 'working_days' },
    promisedLimit: { days: 1, unit: 'working_days' },
    materials: [
      { code: 'id-card', name: '经营者身份证明', forms: ['paper', 'e_certificate'], eCertificate: '居民身份证' },
      { code: 'premises-proof', name: '经营场所使用证明', forms: ['paper', 'electronic'] },
    ],
    formFields: [
      { name: 'operatorName', label: '经营者姓名', type: 'string', required: true },
      { name: 'businessAddress', label: '经营场所', type: 'string', required: true },
    ],
    modes: ['full_online', 'online_transfer'],
  }),
  Item.parse({
    code: 'food-business-license',
    name: '食品经营许可',
    department: '十堰市市场监督管理局',
    departmentCode: 'shiyan-amr',
    serviceObject: 'both',
    statutoryLimit: { days: 20, unit: 'working_days' },
    promisedLimit: { days: 5, unit: 'working_days' },
    conditions: ['具有与经营的食品品种、数量相适应的经营场所'],
    materials: [
      { code: 'id-card', name: '经营者身份证明', forms: ['paper', 'e_certificate'], eCertificate: '居民身份证' },
      { code: 'food-safety-rules', name: '食品安全管理制度', forms: ['electronic'], nonEssential: true },
    ],
    formFields: [{ name: 'businessAddress', label: '经营场所', type: 'string', required: true }],
    modes: ['full_online', 'online_transfer', 'offline_proxy'],
  }),
]

const things: Thing[] = [
  Thing.parse({
    id: 'open-restaurant',
    name: '我要开餐馆',
    leadDepartment: '十堰市市场监督管理局',
    items: [{ item: 'individual-business-registration' }, { item: 'food-business-license' }],
  }),
]

const withinCity = Agreement.parse({
  id: 'shiyan-within-city',
  version: 1,
  name: '十堰市市内通办',
  scope: 'within_city',
  parties: ['420302', '420303', 'Z42030001'],
  items: [{ item: 'individual-business-registration', modes: ['online_transfer'] }],
  validFrom: '2024-01-01',
  status: 'active',
  retryPolicy: { attempts: 5, backoffMs: 1_000, maxAgeHours: 24 },
  minTrust: 'B',
})

const crossCity = Agreement.parse({
  id: 'xiang-shi-sui-shen',
  version: 1,
  name: '襄十随神跨市通办',
  scope: 'cross_city',
  parties: ['420600', '420300', '421300', '429021'],
  items: [
    { item: 'individual-business-registration', modes: ['full_online', 'online_transfer'] },
    { item: 'food-business-license', modes: ['offline_proxy'], timeLimit: { days: 10, unit: 'working_days' } },
  ],
  validFrom: '2024-03-01',
  validTo: '2026-12-31',
  status: 'active',
  retryPolicy: { attempts: 8, backoffMs: 2_000, maxAgeHours: 72 },
  minTrust: 'B',
  basis: '襄十随神城市群政务服务“跨市通办”合作协议',
})

const calendars: CalendarFile[] = [
  CalendarFile.parse({
    year: 2025,
    holidays: ['2025-01-01', '2025-01-28', '2025-01-29', '2025-01-30', '2025-01-31', '2025-02-03', '2025-02-04'],
    workdays: ['2025-01-26', '2025-02-08'],
    source: '国务院办公厅关于2025年部分节假日安排的通知',
  }),
]

const directory: Directory = { regions, items, things, agreements: [withinCity, crossCity], calendars }

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error, 'expected an AppError').toBeInstanceOf(AppError)
  return (error as AppError).code
}

describe.each(backends)('directory store on $name', (backend) => {
  describe('migrate', () => {
    it('applies every migration once; a second run applies nothing', async () => {
      const { database, drop } = await backend.open({ migrate: false })
      try {
        const first = await migrate(database)
        expect(first.applied).toEqual(migrationNames)
        expect(first.current).toBe(migrations.length)
        const second = await migrate(database)
        expect(second).toEqual({ applied: [], current: migrations.length })
        const rows = await queryRows(database.db, sql`select version, name from schema_migrations order by version`)
        expect(rows).toEqual(migrations.map((m) => ({ version: m.version, name: m.name })))
      } finally {
        await drop()
      }
    })

    it('two concurrent migrate calls both succeed and apply each migration once', async () => {
      const { a, b, drop } = await backend.openTwice()
      try {
        const [ra, rb] = await Promise.all([migrate(a), migrate(b)])
        expect([...ra.applied, ...rb.applied].sort()).toEqual(migrationNames)
        expect(ra.current).toBe(migrations.length)
        expect(rb.current).toBe(migrations.length)
        const rows = await queryRows<{ n: number }>(a.db, sql`select count(*)::int as n from schema_migrations`)
        expect(rows[0]?.n).toBe(migrations.length)
      } finally {
        await drop()
      }
    })

    it('refuses a database migrated by a newer gateway', async () => {
      const { database, drop } = await backend.open()
      try {
        await database.db.execute(sql`insert into schema_migrations (version, name) values (9999, 'from-the-future')`)
        const error = await migrate(database).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(AppError)
        expect((error as AppError).code).toBe('internal')
        expect((error as AppError).message).toMatch(/9999.*newer gateway/)
      } finally {
        await drop()
      }
    })
  })

  describe('PgDirectoryStore', () => {
    let opened: Opened
    let db: Database['db']
    let store: PgDirectoryStore

    beforeAll(async () => {
      opened = await backend.open()
      db = opened.database.db
      store = new PgDirectoryStore(db)
    })
    afterAll(async () => {
      await opened?.drop()
    })
    beforeEach(async () => {
      await db.execute(sql`truncate regions, items, things, calendars, agreements`)
    })

    /** Every stored row with its xmin, which changes whenever PostgreSQL rewrites the row. */
    async function snapshot() {
      return {
        regions: await queryRows(db, sql`select *, xmin::text as xmin from regions order by code`),
        items: await queryRows(db, sql`select *, xmin::text as xmin from items order by code`),
        things: await queryRows(db, sql`select *, xmin::text as xmin from things order by id`),
        calendars: await queryRows(db, sql`select *, xmin::text as xmin from calendars order by year`),
        agreements: await queryRows(db, sql`select *, xmin::text as xmin from agreements order by id, version`),
      }
    }

    it('seeds the directory and loads it back', async () => {
      const report = await store.seed(directory)
      expect(report).toEqual({
        regions: 6,
        items: 2,
        things: 1,
        calendars: 1,
        agreementsInserted: 2,
        agreementsUnchanged: 0,
        agreementConflicts: [],
      })
      const loaded = await store.load()
      expect(loaded.regions).toEqual([...regions].sort((x, y) => x.code.localeCompare(y.code)))
      expect(loaded.items).toEqual([...items].sort((x, y) => x.code.localeCompare(y.code)))
      expect(loaded.things).toEqual(things)
      expect(loaded.calendars).toEqual(calendars)
      expect(loaded.agreements).toEqual([withinCity, crossCity])
      const retired = loaded.regions.find((r) => r.code === '420321')
      expect(retired).toMatchObject({ status: 'retired', successors: ['420304'] })

      const stored = await store.getAgreement('shiyan-within-city')
      expect(stored?.createdBy).toBe('config-seed')
      expect(stored?.createdAt).toBeInstanceOf(Date)
    })

    it('a second seed with the same input changes no row', async () => {
      await store.seed(directory, 'first')
      const before = await snapshot()
      const report = await store.seed(directory, 'second')
      expect(report.agreementsInserted).toBe(0)
      expect(report.agreementsUnchanged).toBe(2)
      expect(report.agreementConflicts).toEqual([])
      expect(await snapshot()).toEqual(before)
    })

    it('upserts a changed region, item and calendar', async () => {
      await store.seed(directory)
      const renamed = regions.map((r) => (r.code === '420303' ? { ...r, name: '张湾区（新）', tags: ['x'] } : r))
      const changedItem = items.map((i) =>
        i.code === 'food-business-license' ? { ...i, name: '食品经营许可（新）' } : i,
      )
      await store.seed({ ...directory, regions: renamed, items: changedItem })
      const loaded = await store.load()
      expect(loaded.regions.find((r) => r.code === '420303')).toMatchObject({ name: '张湾区（新）', tags: ['x'] })
      expect(loaded.items.find((i) => i.code === 'food-business-license')?.name).toBe('食品经营许可（新）')
    })

    it('reports an agreement changed without a new version and keeps the stored one', async () => {
      await store.seed(directory)
      const edited = { ...crossCity, name: '襄十随神跨市通办（改）', minTrust: 'A' as const }
      const report = await store.seed({ ...directory, agreements: [withinCity, edited] })
      expect(report.agreementConflicts).toEqual(['xiang-shi-sui-shen@1'])
      expect(report.agreementsInserted).toBe(0)
      expect(report.agreementsUnchanged).toBe(1)
      expect((await store.getAgreement('xiang-shi-sui-shen', 1))?.agreement).toEqual(crossCity)
    })

    it('does not report an agreement whose status an admin changed since', async () => {
      await store.seed(directory)
      await store.setAgreementStatus('shiyan-within-city', 1, 'suspended', 'admin')
      const report = await store.seed(directory)
      expect(report.agreementConflicts).toEqual([])
      expect((await store.getAgreement('shiyan-within-city'))?.agreement.status).toBe('suspended')
    })

    it('adds a version: the old one stays readable, load returns the new one', async () => {
      await store.seed(directory)
      const added = await store.addAgreementVersion({ ...withinCity, version: 42, minTrust: 'A' }, 'admin-1')
      expect(added.agreement).toEqual({ ...withinCity, version: 2, minTrust: 'A' })
      expect(added.createdBy).toBe('admin-1')
      expect((await store.getAgreement('shiyan-within-city', 1))?.agreement).toEqual(withinCity)
      expect((await store.getAgreement('shiyan-within-city'))?.agreement.version).toBe(2)
      const versions = await store.listAgreementVersions('shiyan-within-city')
      expect(versions.map((v) => v.agreement.version)).toEqual([1, 2])
      const loaded = await store.load()
      expect(loaded.agreements.find((a) => a.id === 'shiyan-within-city')?.version).toBe(2)
      expect(loaded.agreements).toHaveLength(2)
      expect((await store.listAgreements()).map((a) => `${a.agreement.id}@${a.agreement.version}`)).toEqual([
        'shiyan-within-city@2',
        'xiang-shi-sui-shen@1',
      ])
    })

    it('gives five concurrent edits five distinct versions', async () => {
      await store.seed(directory)
      const added = await Promise.all(
        [1, 2, 3, 4, 5].map((n) => store.addAgreementVersion({ ...crossCity, name: `edit ${n}` }, `admin-${n}`)),
      )
      expect(added.map((a) => a.agreement.version).sort((x, y) => x - y)).toEqual([2, 3, 4, 5, 6])
      const versions = await store.listAgreementVersions('xiang-shi-sui-shen')
      expect(versions.map((v) => v.agreement.version)).toEqual([1, 2, 3, 4, 5, 6])
    })

    it('starts a new agreement at version 1', async () => {
      const added = await store.addAgreementVersion({ ...withinCity, id: 'brand-new', version: 7 }, 'admin')
      expect(added.agreement.version).toBe(1)
    })

    it('sets the status in the column and the document', async () => {
      await store.seed(directory)
      const updated = await store.setAgreementStatus('xiang-shi-sui-shen', 1, 'retired', 'admin')
      expect(updated.agreement).toEqual({ ...crossCity, status: 'retired' })
      const rows = await queryRows<{ status: string; doc_status: string }>(
        db,
        sql`select status, doc->>'status' as doc_status from agreements where id = 'xiang-shi-sui-shen'`,
      )
      expect(rows).toEqual([{ status: 'retired', doc_status: 'retired' }])
    })

    it('answers not_found for an unknown version and null for an unknown agreement', async () => {
      await store.seed(directory)
      expect(await codeOf(store.setAgreementStatus('xiang-shi-sui-shen', 9, 'retired', 'admin'))).toBe('not_found')
      expect(await codeOf(store.setAgreementStatus('no-such-agreement', 1, 'retired', 'admin'))).toBe('not_found')
      expect(await store.getAgreement('xiang-shi-sui-shen', 9)).toBeNull()
      expect(await store.getAgreement('no-such-agreement')).toBeNull()
      expect(await store.listAgreementVersions('no-such-agreement')).toEqual([])
    })

    it('refuses a directory listing the same agreement version twice', async () => {
      expect(await codeOf(store.seed({ ...directory, agreements: [withinCity, withinCity] }))).toBe('validation_failed')
      expect(await store.listRegions()).toEqual([])
    })
  })
})
