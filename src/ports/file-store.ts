/**
 * Files submitted once (一次提交、多次复用), stored by their SHA-256: the same bytes are stored once whoever
 * sends them and however often; each uploader is recorded.
 */

export interface StoredFileMeta {
  /** Lower-case hex SHA-256 of the content. */
  sha256: string
  mediaType: string
  size: number
  createdAt: Date
}

/** A case that references a file among its materials: enough to tell who its parties are. */
export interface FileReference {
  caseId: string
  originRegion: string
  processingRegion: string | null
  /** The window that collected the case, if one did. */
  agentWindow: string | null
  /** The case's item (null for a bundle's parent): a department-limited caller's cases are those of its items. */
  item?: string | null
}

export interface FileStore {
  /**
   * Stores `content` under `sha256` unless it is stored already (the caller computed the hash), and records
   * `uploader` (`client:<id>`, `person:<id>`, or the peer client a file was fetched from) once.
   * Returns the stored file's metadata and whether this call stored the bytes.
   */
  put(
    file: { sha256: string; mediaType: string; content: Buffer },
    uploader: string,
    source: 'upload' | 'peer',
  ): Promise<{ file: StoredFileMeta; created: boolean }>
  meta(sha256: string): Promise<StoredFileMeta | null>
  /** The content, or null when unknown. */
  content(sha256: string): Promise<{ meta: StoredFileMeta; content: Buffer } | null>
  /**
   * Of `sha256s`, those not stored. Those stored are marked as used now: an unused file's retention
   * (`prune`) counts from its last upload or its last reference by a submission.
   */
  use(sha256s: string[]): Promise<string[]>
  /**
   * Deletes (at most `limit`) files that no case references and that nobody uploaded or referenced for
   * `unusedSeconds`; with `dryRun`, only counts them. A file being referenced at the same moment is kept.
   */
  prune(opts: { unusedSeconds: number; limit: number; dryRun?: boolean }): Promise<{ files: number; bytes: number }>
  /** Whether `uploader` uploaded (or fetched) this file. */
  uploadedBy(sha256: string, uploader: string): Promise<boolean>
  /** Cases whose materials reference this file (children included). */
  references(sha256: string): Promise<FileReference[]>
}
