import type { Agreement, AgreementStatus, CalendarFile, Directory, Item, Region, Thing } from '../../config/schema.js'

/** An agreement version as stored: the configuration document plus when it was recorded and by whom. */
export interface StoredAgreement {
  agreement: Agreement
  createdAt: Date
  createdBy: string
}

/** What `seed` did: counts per kind, and agreements whose file changed without a new version number. */
export interface SeedReport {
  regions: number
  items: number
  things: number
  calendars: number
  agreementsInserted: number
  agreementsUnchanged: number
  /** `id@version` of agreements whose stored document differs from the file; the stored one is kept. */
  agreementConflicts: string[]
}

/**
 * The directory: regions, items, things, agreements (versioned) and calendars.
 *
 * Contract:
 * - `seed` is idempotent: running it twice with the same directory changes nothing the second time.
 *   Regions, items, things and calendars are upserted; an agreement version is inserted once and never
 *   overwritten (a change is a new version).
 * - `load` returns the whole directory with, per agreement id, the version in force only: the highest active
 *   one, else the latest that is not a draft, else the latest.
 * - Agreement versions are immutable except for their status, which `setAgreementStatus` changes.
 */
export interface DirectoryStore {
  seed(directory: Directory, actor?: string): Promise<SeedReport>
  load(): Promise<Directory>
  listRegions(): Promise<Region[]>
  listItems(): Promise<Item[]>
  listThings(): Promise<Thing[]>
  listCalendars(): Promise<CalendarFile[]>
  /** Latest version of each agreement. */
  listAgreements(): Promise<StoredAgreement[]>
  /** A given version, or the latest when `version` is omitted; null when unknown. */
  getAgreement(id: string, version?: number): Promise<StoredAgreement | null>
  /** Every version of one agreement, oldest first. */
  listAgreementVersions(id: string): Promise<StoredAgreement[]>
  /** Stores `agreement` as version latest+1 (its own `version` field is ignored) and returns it. */
  addAgreementVersion(agreement: Agreement, actor: string): Promise<StoredAgreement>
  setAgreementStatus(id: string, version: number, status: AgreementStatus, actor: string): Promise<StoredAgreement>
}
