/**
 * Drizzle table definitions of the gateway's PostgreSQL schema. They mirror the SQL of `migrations/`,
 * which is the source of truth (drizzle-kit is not used): a change here needs a new migration there.
 */
import { sql } from 'drizzle-orm'
import { index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core'
import type { Agreement, AgreementStatus, CalendarFile, Item, RegionLevel, Thing } from '../../config/schema.js'

export const regions = pgTable('regions', {
  code: text('code').primaryKey(),
  name: text('name').notNull(),
  level: text('level').$type<RegionLevel>().notNull(),
  parent: text('parent'),
  province: text('province').notNull(),
  status: text('status').$type<'active' | 'retired'>().notNull(),
  successors: text('successors').array().notNull().default(sql`'{}'`),
  tags: text('tags').array().notNull().default(sql`'{}'`),
})

export const items = pgTable('items', {
  code: text('code').primaryKey(),
  doc: jsonb('doc').$type<Item>().notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
})

export const things = pgTable('things', {
  id: text('id').primaryKey(),
  doc: jsonb('doc').$type<Thing>().notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
})

export const calendars = pgTable('calendars', {
  year: integer('year').primaryKey(),
  doc: jsonb('doc').$type<CalendarFile>().notNull(),
})

export const agreements = pgTable(
  'agreements',
  {
    id: text('id').notNull(),
    version: integer('version').notNull(),
    status: text('status').$type<AgreementStatus>().notNull(),
    doc: jsonb('doc').$type<Agreement>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    createdBy: text('created_by').notNull(),
  },
  (t) => [primaryKey({ columns: [t.id, t.version] }), index('agreements_id_version_idx').on(t.id, t.version.desc())],
)

export const schemaMigrations = pgTable('schema_migrations', {
  version: integer('version').primaryKey(),
  name: text('name').notNull(),
  appliedAt: timestamp('applied_at', { withTimezone: true }).notNull().defaultNow(),
})
