import { and, asc, eq, sql } from 'drizzle-orm'
import type { FileReference, FileStore, StoredFileMeta } from '../ports/file-store.js'
import { type Database, queryRows } from './db.js'
import { cases, files, fileUploads } from './schema.js'

interface MetaRow extends Record<string, unknown> {
  sha256: string
  media_type: string
  size: number
  created_at: string | Date
}

const toMeta = (r: MetaRow): StoredFileMeta => ({
  sha256: r.sha256,
  mediaType: r.media_type,
  size: r.size,
  createdAt: new Date(r.created_at),
})

const meta = { sha256: files.sha256, mediaType: files.mediaType, size: files.size, createdAt: files.createdAt }

/**
 * Files in PostgreSQL (bytea), keyed by SHA-256. `put`, `use` and `prune` are `sql` templates: each is one
 * statement of data-modifying parts, which the builder cannot say. `put` is one statement: the content row is inserted only if
 * absent (`on conflict do nothing`), so concurrent uploads of the same bytes store them once.
 */
export class PgFileStore implements FileStore {
  constructor(private readonly database: Database) {}

  async put(
    file: { sha256: string; mediaType: string; content: Buffer },
    uploader: string,
    source: 'upload' | 'peer',
  ): Promise<{ file: StoredFileMeta; created: boolean }> {
    // A concurrent upload of the same bytes that commits after this statement's snapshot leaves it seeing
    // neither its own insert nor the other's row: the second try sees the committed row.
    // A prune deleting these bytes (unused for long) at this very moment fails the uploader row's foreign
    // key: the second try stores them again.
    for (let attempt = 0; ; attempt++) {
      let stored: Awaited<ReturnType<PgFileStore['putOnce']>>
      try {
        stored = await this.putOnce(file, uploader, source)
      } catch (error) {
        if (attempt === 0 && (error as { code?: string }).code === '23503') continue
        throw error
      }
      if (stored || attempt > 0) {
        if (!stored) throw new Error(`file ${file.sha256} was neither inserted nor found`)
        return stored
      }
    }
  }

  private async putOnce(
    file: { sha256: string; mediaType: string; content: Buffer },
    uploader: string,
    source: 'upload' | 'peer',
  ): Promise<{ file: StoredFileMeta; created: boolean } | null> {
    const [row] = await queryRows<MetaRow & { created: boolean }>(
      this.database.db,
      sql`with ins as (
         insert into files (sha256, media_type, size, content)
         values (${file.sha256}, ${file.mediaType}, ${file.content.length}, ${file.content})
         on conflict (sha256) do nothing
         returning sha256, media_type, size, created_at
       ), who as (
         insert into file_uploads (sha256, uploaded_by, source)
         values (${file.sha256}, ${uploader}, ${source})
         on conflict (sha256, uploaded_by) do nothing
       ), again as (
         update files set used_at = now() where sha256 = ${file.sha256} and not exists (select 1 from ins)
         returning sha256, media_type, size, created_at
       )
       select sha256, media_type, size, created_at, true as created from ins
       union all
       select sha256, media_type, size, created_at, false from again`,
    )
    return row ? { file: toMeta(row), created: row.created } : null
  }

  async meta(sha256: string): Promise<StoredFileMeta | null> {
    const [row] = await this.database.db.select(meta).from(files).where(eq(files.sha256, sha256))
    return row ?? null
  }

  async content(sha256: string): Promise<{ meta: StoredFileMeta; content: Buffer } | null> {
    const [row] = await this.database.db
      .select({ meta, content: files.content })
      .from(files)
      .where(eq(files.sha256, sha256))
    return row ?? null
  }

  async use(sha256s: string[]): Promise<string[]> {
    if (sha256s.length === 0) return []
    // Marking them used takes their row locks: a prune running now either deleted them already (they are
    // missing here) or skips them (locked), then sees them used.
    const list = sql.param(sha256s)
    const rows = await queryRows<{ sha256: string }>(
      this.database.db,
      sql`with used as (
         update files set used_at = now() where sha256 = any(${list}::text[]) returning sha256
       )
       select s as sha256 from unnest(${list}::text[]) as s where not exists (select 1 from used u where u.sha256 = s)`,
    )
    return rows.map((r) => r.sha256)
  }

  async prune(opts: { unusedSeconds: number; limit: number; dryRun?: boolean }) {
    // Candidates are locked (skipping those being used right now) and checked again under the lock: the
    // `used_at` condition is re-evaluated on a row that a concurrent `use` updated.
    const candidates = sql`select f.sha256, f.size from files f
      where f.used_at < now() - make_interval(secs => ${opts.unusedSeconds})
        and not exists (
          select 1 from cases c where c.materials @> jsonb_build_array(jsonb_build_object('sha256', f.sha256))
        )
      order by f.used_at
      limit ${opts.limit}`
    const [row] = await queryRows<{ files: number; bytes: string | number }>(
      this.database.db,
      opts.dryRun
        ? sql`select count(*)::int as files, coalesce(sum(size), 0)::bigint as bytes from (${candidates}) d`
        : sql`with doomed as (${candidates} for update of f skip locked),
             uploads as (delete from file_uploads u using doomed d where u.sha256 = d.sha256),
             gone as (delete from files f using doomed d where f.sha256 = d.sha256 returning f.size)
           select count(*)::int as files, coalesce(sum(size), 0)::bigint as bytes from gone`,
    )
    return { files: row?.files ?? 0, bytes: Number(row?.bytes ?? 0) }
  }

  async uploadedBy(sha256: string, uploader: string): Promise<boolean> {
    const rows = await this.database.db
      .select({ sha256: fileUploads.sha256 })
      .from(fileUploads)
      .where(and(eq(fileUploads.sha256, sha256), eq(fileUploads.uploadedBy, uploader)))
    return rows.length > 0
  }

  async references(sha256: string): Promise<FileReference[]> {
    return this.database.db
      .select({
        caseId: cases.id,
        originRegion: cases.originRegion,
        processingRegion: cases.processingRegion,
        agentWindow: cases.agentWindow,
        item: cases.item,
      })
      .from(cases)
      .where(sql`${cases.materials} @> ${JSON.stringify([{ sha256 }])}::jsonb`)
      .orderBy(asc(cases.id))
      .limit(1000)
  }
}
