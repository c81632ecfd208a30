import type { FileReference, FileStore, StoredFileMeta } from '../ports/file-store.js'
import type { Database } from './db.js'

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

/** bytea arrives as a Buffer from pg and as a Uint8Array from PGlite. */
const toBuffer = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array))

/**
 * Files in PostgreSQL (bytea), keyed by SHA-256. `put` is one statement: the content row is inserted only if
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
    const [row] = await this.database.query<MetaRow & { created: boolean }>(
      `with ins as (
         insert into files (sha256, media_type, size, content) values ($1, $2, $3, $4)
         on conflict (sha256) do nothing
         returning sha256, media_type, size, created_at
       ), who as (
         insert into file_uploads (sha256, uploaded_by, source)
         values ($1, $5, $6)
         on conflict (sha256, uploaded_by) do nothing
       ), again as (
         update files set used_at = now() where sha256 = $1 and not exists (select 1 from ins)
         returning sha256, media_type, size, created_at
       )
       select sha256, media_type, size, created_at, true as created from ins
       union all
       select sha256, media_type, size, created_at, false from again`,
      [file.sha256, file.mediaType, file.content.length, file.content, uploader, source],
    )
    return row ? { file: toMeta(row), created: row.created } : null
  }

  async meta(sha256: string): Promise<StoredFileMeta | null> {
    const [row] = await this.database.query<MetaRow>(
      'select sha256, media_type, size, created_at from files where sha256 = $1',
      [sha256],
    )
    return row ? toMeta(row) : null
  }

  async content(sha256: string): Promise<{ meta: StoredFileMeta; content: Buffer } | null> {
    const [row] = await this.database.query<MetaRow & { content: unknown }>(
      'select sha256, media_type, size, created_at, content from files where sha256 = $1',
      [sha256],
    )
    return row ? { meta: toMeta(row), content: toBuffer(row.content) } : null
  }

  async use(sha256s: string[]): Promise<string[]> {
    if (sha256s.length === 0) return []
    // Marking them used takes their row locks: a prune running now either deleted them already (they are
    // missing here) or skips them (locked), then sees them used.
    const rows = await this.database.query<{ sha256: string }>(
      `with used as (
         update files set used_at = now() where sha256 = any($1::text[]) returning sha256
       )
       select s as sha256 from unnest($1::text[]) as s where not exists (select 1 from used u where u.sha256 = s)`,
      [sha256s],
    )
    return rows.map((r) => r.sha256)
  }

  async prune(opts: { unusedSeconds: number; limit: number; dryRun?: boolean }) {
    // Candidates are locked (skipping those being used right now) and checked again under the lock: the
    // `used_at` condition is re-evaluated on a row that a concurrent `use` updated.
    const candidates = `select f.sha256, f.size from files f
      where f.used_at < now() - make_interval(secs => $1)
        and not exists (
          select 1 from cases c where c.materials @> jsonb_build_array(jsonb_build_object('sha256', f.sha256))
        )
      order by f.used_at
      limit $2`
    const [row] = await this.database.query<{ files: number; bytes: string | number }>(
      opts.dryRun
        ? `select count(*)::int as files, coalesce(sum(size), 0)::bigint as bytes from (${candidates}) d`
        : `with doomed as (${candidates} for update of f skip locked),
             uploads as (delete from file_uploads u using doomed d where u.sha256 = d.sha256),
             gone as (delete from files f using doomed d where f.sha256 = d.sha256 returning f.size)
           select count(*)::int as files, coalesce(sum(size), 0)::bigint as bytes from gone`,
      [opts.unusedSeconds, opts.limit],
    )
    return { files: row?.files ?? 0, bytes: Number(row?.bytes ?? 0) }
  }

  async uploadedBy(sha256: string, uploader: string): Promise<boolean> {
    const rows = await this.database.query('select 1 from file_uploads where sha256 = $1 and uploaded_by = $2', [
      sha256,
      uploader,
    ])
    return rows.length > 0
  }

  async references(sha256: string): Promise<FileReference[]> {
    const rows = await this.database.query<{
      id: string
      origin_region: string
      processing_region: string | null
      agent_window: string | null
      item: string | null
    }>(
      `select id, origin_region, processing_region, agent_window, item from cases where materials @> $1::jsonb
       order by id limit 1000`,
      [JSON.stringify([{ sha256 }])],
    )
    return rows.map((r) => ({
      caseId: r.id,
      originRegion: r.origin_region,
      processingRegion: r.processing_region,
      agentWindow: r.agent_window,
      item: r.item,
    }))
  }
}
