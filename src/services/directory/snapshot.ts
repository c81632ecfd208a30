/**
 * An in-memory snapshot of the directory (a few hundred rows), rebuilt from the store when it is
 * older than `ttlMs` or after `invalidate()`. Routing reads it on every request, so it must not
 * query PostgreSQL each time; agreement edits call `invalidate()` on the instance that made them,
 * and other instances pick them up within `ttlMs`.
 */
import type { Agreement, Directory, Item, Thing } from '../../../config/schema.js'
import { WorkCalendar } from '../../domain/calendar.js'
import { RegionIndex } from '../../domain/regions.js'
import type { Logger } from '../../logger.js'
import type { Clock } from '../../ports/clock.js'
import type { DirectoryStore } from '../../ports/directory-store.js'

export interface DirectorySnapshot {
  directory: Directory
  regions: RegionIndex
  items: ReadonlyMap<string, Item>
  things: ReadonlyMap<string, Thing>
  agreements: ReadonlyMap<string, Agreement>
  calendar: WorkCalendar
  loadedAt: Date
}

export function buildSnapshot(directory: Directory, loadedAt: Date, logger?: Logger): DirectorySnapshot {
  const warned = new Set<number>()
  return {
    directory,
    regions: new RegionIndex(directory.regions),
    items: new Map(directory.items.map((i) => [i.code, i])),
    things: new Map(directory.things.map((t) => [t.id, t])),
    agreements: new Map(directory.agreements.map((a) => [a.id, a])),
    calendar: new WorkCalendar(directory.calendars, (year) => {
      if (warned.has(year)) return
      warned.add(year)
      logger?.warn({ year }, 'no working-day calendar for this year: counting Monday to Friday as working days')
    }),
    loadedAt,
  }
}

export class DirectoryService {
  private current: DirectorySnapshot | undefined
  private loading: Promise<DirectorySnapshot> | undefined

  constructor(
    private readonly store: DirectoryStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly ttlMs = 5_000,
  ) {}

  /** The current snapshot; a stale one is served while a fresh one loads in the background. */
  async snapshot(): Promise<DirectorySnapshot> {
    const now = this.clock.now().getTime()
    if (this.current === undefined) return this.reload()
    if (now - this.current.loadedAt.getTime() > this.ttlMs && this.loading === undefined) {
      this.reload().catch((err) => this.logger.error({ err }, 'directory reload failed; serving the previous one'))
    }
    return this.current
  }

  /** One agreement version (latest when omitted) with the numbers of every stored version; null if unknown. */
  async agreement(id: string, version?: number): Promise<{ agreement: Agreement; versions: number[] } | null> {
    const all = await this.store.listAgreementVersions(id)
    const found = version === undefined ? all.at(-1) : all.find((v) => v.agreement.version === version)
    if (!found) return null
    return { agreement: found.agreement, versions: all.map((v) => v.agreement.version) }
  }

  /** Forces the next `snapshot()` to load from the store. */
  invalidate(): void {
    this.current = undefined
  }

  reload(): Promise<DirectorySnapshot> {
    if (this.loading) return this.loading
    this.loading = this.store
      .load()
      .then((directory) => {
        this.current = buildSnapshot(directory, this.clock.now(), this.logger)
        return this.current
      })
      .finally(() => {
        this.loading = undefined
      })
    return this.loading
  }
}
