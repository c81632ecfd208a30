/**
 * Loads and cross-checks a configuration directory:
 *
 * ```
 * regions/admin-divisions.csv          GB/T 2260 codes in force
 * regions/admin-divisions-history.csv  retired codes (kept, refused for new cases)
 * regions/zones.json                   functional zones with minted ids
 * items/*.json                         service items
 * things.json                          one-thing bundles
 * agreements/*.json                    inter-region agreements, one per file
 * calendars/<year>.json                working-day calendars
 * bindings.json                        which adapter serves which region
 * ```
 *
 * Every problem is reported with the file (relative to the directory) and the JSON path, e.g.
 * `agreements/xiang-shi-sui-shen.json: items[2].item: unknown item "foo"`.
 */
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import type { z } from 'zod'
import { checkAgreementGeography } from '../src/domain/agreements.js'
import { mergeChecklist } from '../src/domain/checklist.js'
import { RegionIndex } from '../src/domain/regions.js'
import {
  Agreement,
  type Binding,
  BindingsFile,
  CalendarFile,
  type Directory,
  type Item,
  ItemsFile,
  type Region,
  type RegionLevel,
  type Thing,
  ThingsFile,
  ZonesFile,
} from './schema.js'

export interface ConfigProblem {
  file: string
  path: string
  message: string
}

export function formatProblem(p: ConfigProblem): string {
  return p.path ? `${p.file}: ${p.path}: ${p.message}` : `${p.file}: ${p.message}`
}

export class ConfigCheckError extends Error {
  override name = 'ConfigCheckError'
  constructor(
    readonly dir: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `configuration in ${dir} has ${problems.length} error(s):\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`,
    )
  }
}

export interface CheckResult {
  directory: Directory
  bindings: Binding[]
  errors: ConfigProblem[]
  warnings: ConfigProblem[]
}

/** Loads `dir` and throws ConfigCheckError listing every error; warnings are returned. */
export async function loadDirectory(
  dir: string,
): Promise<{ directory: Directory; bindings: Binding[]; warnings: ConfigProblem[] }> {
  const result = await checkDirectory(dir)
  if (result.errors.length > 0) throw new ConfigCheckError(dir, result.errors)
  return { directory: result.directory, bindings: result.bindings, warnings: result.warnings }
}

/** Loads `dir`, collecting every error instead of stopping at the first. */
export async function checkDirectory(dir: string): Promise<CheckResult> {
  const errors: ConfigProblem[] = []
  const warnings: ConfigProblem[] = []
  const problem = (file: string, p: string, message: string) => errors.push({ file, path: p, message })

  const regions = await loadRegions(dir, problem)
  const itemFiles = await loadJsonDir(dir, 'items', ItemsFile, problem)
  const items = itemFiles.flatMap(({ value }) => value.items)
  /** Where each item is defined, so that an error about a bundle can point at its members' definitions. */
  const itemPlaces = new Map<string, string>()
  for (const { file, value } of itemFiles) {
    for (const [i, item] of value.items.entries())
      if (!itemPlaces.has(item.code)) itemPlaces.set(item.code, `${file} items[${i}]`)
  }
  const thingsFile = await loadJson(dir, 'things.json', ThingsFile, problem)
  const things = thingsFile?.things ?? []
  const agreementFiles = await loadJsonDir(dir, 'agreements', Agreement, problem)
  const calendarFiles = await loadJsonDir(dir, 'calendars', CalendarFile, problem)
  const bindingsFile = await loadJson(dir, 'bindings.json', BindingsFile, problem)
  const bindings = bindingsFile?.bindings ?? []

  const itemsByCode = new Map<string, Item>()
  for (const [i, item] of items.entries()) {
    if (itemsByCode.has(item.code)) problem('items', `items[${i}].code`, `duplicate item code "${item.code}"`)
    itemsByCode.set(item.code, item)
    checkItem(item, problem)
  }

  const index = new RegionIndex(regions)
  checkThings(things, itemsByCode, problem, itemPlaces)

  const seen = new Set<string>()
  for (const { file, value: a } of agreementFiles) {
    if (seen.has(a.id)) problem(file, 'id', `duplicate agreement id "${a.id}"`)
    seen.add(a.id)
    checkAgreement(file, a, index, itemsByCode, problem)
  }

  for (const { file, value: cal } of calendarFiles) {
    if (path.basename(file, '.json') !== String(cal.year)) {
      problem(file, 'year', `year ${cal.year} does not match the file name`)
    }
    for (const [i, d] of cal.holidays.entries()) {
      if (!d.startsWith(`${cal.year}-`)) problem(file, `holidays[${i}]`, `${d} is not in ${cal.year}`)
    }
    for (const [i, d] of cal.workdays.entries()) {
      if (!d.startsWith(`${cal.year}-`)) problem(file, `workdays[${i}]`, `${d} is not in ${cal.year}`)
      const dow = new Date(`${d}T00:00:00Z`).getUTCDay()
      if (dow !== 0 && dow !== 6)
        problem(file, `workdays[${i}]`, `${d} is not a weekend day, so it cannot be made a working day`)
    }
  }
  const bound = new Set<string>()
  for (const [i, b] of bindings.entries()) {
    if (bound.has(b.region)) problem('bindings.json', `bindings[${i}].region`, `region ${b.region} is bound twice`)
    bound.add(b.region)
    if (b.region !== '*' && !index.get(b.region))
      problem('bindings.json', `bindings[${i}].region`, `unknown region "${b.region}"`)
  }
  if (calendarFiles.length === 0) {
    warnings.push({ file: 'calendars', path: '', message: 'no calendar: every year falls back to Monday–Friday' })
  }

  return {
    directory: {
      regions,
      items,
      things,
      agreements: agreementFiles.map((f) => f.value),
      calendars: calendarFiles.map((f) => f.value),
    },
    bindings,
    errors,
    warnings,
  }
}

type Report = (file: string, path: string, message: string) => void

function checkItem(item: Item, problem: Report): void {
  const file = `items (${item.code})`
  if (item.promisedLimit.unit === item.statutoryLimit.unit && item.promisedLimit.days > item.statutoryLimit.days) {
    problem(
      file,
      'promisedLimit.days',
      `promised ${item.promisedLimit.days} exceeds statutory ${item.statutoryLimit.days}`,
    )
  }
  const codes = new Set<string>()
  for (const [i, m] of item.materials.entries()) {
    if (codes.has(m.code)) problem(file, `materials[${i}].code`, `duplicate material "${m.code}"`)
    codes.add(m.code)
    if (m.forms.includes('e_certificate') && !m.eCertificate) {
      problem(
        file,
        `materials[${i}].eCertificate`,
        'a material accepted as e_certificate must name the certificate type',
      )
    }
  }
  const names = new Set<string>()
  for (const [i, f] of item.formFields.entries()) {
    if (names.has(f.name)) problem(file, `formFields[${i}].name`, `duplicate field "${f.name}"`)
    names.add(f.name)
    if (f.type === 'enum' && !f.options) problem(file, `formFields[${i}].options`, 'an enum field needs options')
  }
}

function checkThings(
  things: Thing[],
  items: Map<string, Item>,
  problem: Report,
  itemPlaces: ReadonlyMap<string, string> = new Map(),
): void {
  const ids = new Set<string>()
  for (const [t, thing] of things.entries()) {
    if (ids.has(thing.id)) problem('things.json', `things[${t}].id`, `duplicate thing id "${thing.id}"`)
    ids.add(thing.id)
    const members: Item[] = []
    for (const [i, m] of thing.items.entries()) {
      const item = items.get(m.item)
      if (!item) problem('things.json', `things[${t}].items[${i}].item`, `unknown item "${m.item}"`)
      else members.push(item)
    }
    for (const c of mergeChecklist(members).conflicts) {
      const where = c.items.flatMap((code) => {
        const place = itemPlaces.get(code)
        const f = items.get(code)?.formFields.findIndex((x) => x.name === c.name) ?? -1
        return place && f >= 0 ? [`${place}.formFields[${f}]`] : []
      })
      problem(
        'things.json',
        `things[${t}]`,
        `form field "${c.name}" is defined differently by ${c.items.join(', ')} (${c.differences.join(', ')}): ` +
          `the merged form would be ambiguous${where.length ? `; see ${where.join(', ')}` : ''}`,
      )
    }
  }
}

function checkAgreement(file: string, a: Agreement, index: RegionIndex, items: Map<string, Item>, problem: Report) {
  let partiesKnown = true
  for (const [i, code] of a.parties.entries()) {
    const region = index.get(code)
    if (!region) {
      problem(file, `parties[${i}]`, `unknown region "${code}"`)
      partiesKnown = false
    } else if (region.status === 'retired') {
      problem(
        file,
        `parties[${i}]`,
        `region ${code} ${region.name} is retired (successors: ${region.successors.join(', ')})`,
      )
      partiesKnown = false
    }
  }
  if (partiesKnown) {
    for (const message of checkAgreementGeography(index, a)) problem(file, 'scope', message)
  }
  const listed = new Set<string>()
  for (const [i, entry] of a.items.entries()) {
    if (listed.has(entry.item)) problem(file, `items[${i}].item`, `item "${entry.item}" listed twice`)
    listed.add(entry.item)
    const item = items.get(entry.item)
    if (!item) {
      problem(file, `items[${i}].item`, `unknown item "${entry.item}"`)
      continue
    }
    for (const [m, mode] of entry.modes.entries()) {
      if (!item.modes.includes(mode)) {
        problem(
          file,
          `items[${i}].modes[${m}]`,
          `item "${item.code}" does not support mode ${mode} (it supports ${item.modes.join(', ')})`,
        )
      }
    }
  }
  if (a.validTo !== null && a.validTo < a.validFrom)
    problem(file, 'validTo', `validTo ${a.validTo} is before validFrom ${a.validFrom}`)
}

async function loadJson<S extends z.ZodType>(
  dir: string,
  file: string,
  schema: S,
  problem: Report,
): Promise<z.output<S> | undefined> {
  let text: string
  try {
    text = await readFile(path.join(dir, file), 'utf8')
  } catch (e) {
    problem(
      file,
      '',
      (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file missing' : `cannot read: ${(e as Error).message}`,
    )
    return undefined
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    problem(file, '', `not valid JSON: ${(e as Error).message}`)
    return undefined
  }
  const parsed = schema.safeParse(raw)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problem(file, formatPath(issue.path), issue.message)
    return undefined
  }
  return parsed.data
}

async function loadJsonDir<S extends z.ZodType>(
  dir: string,
  sub: string,
  schema: S,
  problem: Report,
): Promise<{ file: string; value: z.output<S> }[]> {
  let names: string[]
  try {
    names = (await readdir(path.join(dir, sub))).filter((n) => n.endsWith('.json')).sort()
  } catch {
    problem(sub, '', 'directory missing')
    return []
  }
  const out: { file: string; value: z.output<S> }[] = []
  for (const name of names) {
    const file = `${sub}/${name}`
    const value = await loadJson(dir, file, schema, problem)
    if (value !== undefined) out.push({ file, value })
  }
  return out
}

function formatPath(p: readonly PropertyKey[]): string {
  return p.reduce<string>(
    (acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)),
    '',
  )
}

const levels: Record<string, RegionLevel> = {
  province: 'province',
  prefecture: 'prefecture',
  county: 'county',
  省级: 'province',
  地级: 'prefecture',
  县级: 'county',
}

async function loadRegions(dir: string, problem: Report): Promise<Region[]> {
  const active = await readCsv(dir, 'regions/admin-divisions.csv', problem)
  const history = await readCsv(dir, 'regions/admin-divisions-history.csv', problem)
  const zones = await loadJson(dir, 'regions/zones.json', ZonesFile, problem)

  const regions = new Map<string, Region>()
  for (const [i, row] of active.entries()) {
    const file = 'regions/admin-divisions.csv'
    const level = levels[row.level ?? '']
    if (!row.code || !/^\d{6}$/.test(row.code) || !row.name || !level || !row.provinceCode) {
      problem(file, `row ${i + 2}`, 'needs code (six digits), name, level and provinceCode')
      continue
    }
    if (regions.has(row.code)) problem(file, `row ${i + 2}`, `duplicate code ${row.code}`)
    regions.set(row.code, {
      code: row.code,
      name: row.name,
      level,
      parent: row.parentCode || null,
      province: row.provinceCode,
      status: 'active',
      successors: [],
      tags: (row.tags ?? '').split(';').filter(Boolean),
    })
  }
  for (const [i, r] of [...regions.values()].entries()) {
    if (r.parent !== null && !regions.has(r.parent)) {
      problem('regions/admin-divisions.csv', `row ${i + 2}`, `parent ${r.parent} of ${r.code} is unknown`)
    }
  }

  // Retired codes: the latest row per code that is not in force today; successors followed to codes in force.
  const latest = new Map<string, Record<string, string>>()
  for (const row of history) {
    if (!row.code || regions.has(row.code)) continue
    const prev = latest.get(row.code)
    if (!prev || Number(row.validToYear) > Number(prev.validToYear)) latest.set(row.code, row)
  }
  const nextOf = (code: string) =>
    (latest.get(code)?.newCodes ?? '')
      .split(';')
      .map((s) => s.replace(/\[\d+\]$/, '').trim())
      .filter((s) => /^\d{6}$/.test(s))
  const inForce = new Set(regions.keys())
  const resolve = (code: string, seen = new Set<string>()): string[] => {
    if (inForce.has(code)) return [code]
    if (seen.has(code)) return []
    seen.add(code)
    return [...new Set(nextOf(code).flatMap((c) => resolve(c, seen)))]
  }
  for (const [code, row] of latest) {
    const provinceCode = `${code.slice(0, 2)}0000`
    const prefecture = `${code.slice(0, 4)}00`
    const parent = code.endsWith('00') ? provinceCode : regions.has(prefecture) ? prefecture : provinceCode
    regions.set(code, {
      code,
      name: row.name ?? code,
      level: levels[row.level ?? ''] ?? 'county',
      parent: code === provinceCode ? null : parent,
      province: provinceCode,
      status: 'retired',
      successors: resolve(code),
      tags: [`retired-${row.validToYear ?? ''}`],
    })
  }

  for (const [i, z] of (zones?.zones ?? []).entries()) {
    const parent = regions.get(z.parent)
    if (parent?.status !== 'active') {
      problem('regions/zones.json', `zones[${i}].parent`, `unknown parent region "${z.parent}"`)
      continue
    }
    if (regions.has(z.id)) problem('regions/zones.json', `zones[${i}].id`, `duplicate id ${z.id}`)
    regions.set(z.id, {
      code: z.id,
      name: z.name,
      level: 'zone',
      parent: z.parent,
      province: parent.province,
      status: 'active',
      successors: [],
      tags: ['functional-zone'],
    })
  }
  return [...regions.values()]
}

async function readCsv(dir: string, file: string, problem: Report): Promise<Record<string, string>[]> {
  let text: string
  try {
    text = await readFile(path.join(dir, file), 'utf8')
  } catch {
    problem(file, '', 'file missing')
    return []
  }
  const rows = parseCsv(text)
  const header = rows.shift() ?? []
  return rows
    .filter((r) => r.some((c) => c !== ''))
    .map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])))
}

/** RFC 4180 CSV: quoted fields with commas, doubled quotes and line breaks. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (ch === '"') quoted = false
      else field += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') {
      row.push(field)
      field = ''
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++
      row.push(field)
      rows.push(row)
      row = []
      field = ''
    } else field += ch
  }
  if (field !== '' || row.length > 0) {
    row.push(field)
    rows.push(row)
  }
  return rows
}

/**
 * Checks one agreement document against a loaded directory exactly as `tongban config check` checks a file in
 * `agreements/` (the schema, then known and unretired parties, the scope against their geography, known items,
 * modes the items support, the validity dates): the admin API validates an edited version with it.
 * Returns the parsed agreement, or every problem with `file` = `agreements/<id>.json`.
 */
export function checkAgreementDocument(
  raw: unknown,
  directory: Pick<Directory, 'regions' | 'items'>,
): { agreement: z.output<typeof Agreement>; errors: [] } | { agreement: null; errors: ConfigProblem[] } {
  const errors: ConfigProblem[] = []
  const id = typeof raw === 'object' && raw !== null && 'id' in raw ? String((raw as { id: unknown }).id) : 'unknown'
  const file = `agreements/${id}.json`
  const parsed = Agreement.safeParse(raw)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) errors.push({ file, path: formatPath(issue.path), message: issue.message })
    return { agreement: null, errors }
  }
  const items = new Map(directory.items.map((i) => [i.code, i]))
  checkAgreement(file, parsed.data, new RegionIndex(directory.regions), items, (f, p, message) =>
    errors.push({ file: f, path: p, message }),
  )
  return errors.length > 0 ? { agreement: null, errors } : { agreement: parsed.data, errors: [] }
}
