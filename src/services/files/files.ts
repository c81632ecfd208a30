/**
 * Files submitted once (一次提交、多次复用): `uploadFile` stores a material's bytes by their SHA-256;
 * `readFile` gives them to the uploader and to the parties of a case that references them; at intake,
 * `ensureMaterialFiles` requires every referenced file, fetching those of a case that another gateway
 * delivers from that gateway (a signed request through the `peer` adapter) and checking their hash.
 */
import { createHash } from 'node:crypto'
import { baseMediaType, contentMatches, sniffMediaType } from '../../domain/files.js'
import { AppError, type FieldError, isAppError } from '../../errors.js'
import type { Caller } from '../../ports/callers.js'
import type { FileStore, StoredFileMeta } from '../../ports/file-store.js'
import type { AdapterResolver } from '../../ports/region-adapter.js'
import { actsFor, departmentAllows, isAdmin, isOriginParty } from '../authz.js'
import type { DirectoryService } from '../directory/snapshot.js'

export interface FileDeps {
  files: FileStore
  directory: DirectoryService
  /** Uploads larger than this are refused (413). */
  maxBytes: number
  /** The media types a material file may have. */
  mediaTypes: readonly string[]
  /** Where files of cases from another gateway are fetched (the origin region's `peer` binding). */
  adapters?: AdapterResolver
  /** How long a fetch from a peer may take. Default 30 s. */
  fetchTimeoutMs?: number
}

export interface UploadedFile extends Omit<StoredFileMeta, 'createdAt'> {
  createdAt: string
  /** false: the same bytes were stored already (by anyone), and are not stored again. */
  created: boolean
}

const actor = (caller: Caller) => `${caller.kind}:${caller.id}`
const sha256Of = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

/**
 * Checks that `bytes` are an allowed `mediaType` whose magic number they carry.
 * @throws AppError `unsupported_media_type` (415) for a type not allowed, `file_content_mismatch` (422) for bytes
 *   that are not what the type says, `payload_too_large` (413).
 */
function checkContent(deps: FileDeps, mediaType: string, bytes: Uint8Array): void {
  if (!deps.mediaTypes.includes(mediaType)) {
    throw new AppError(
      'unsupported_media_type',
      `a material file must be one of ${deps.mediaTypes.join(', ')}; got ${mediaType || 'no Content-Type'}`,
    )
  }
  if (bytes.length > deps.maxBytes) {
    throw new AppError('payload_too_large', `a file may have at most ${deps.maxBytes} bytes`)
  }
  if (bytes.length === 0) throw new AppError('file_content_mismatch', 'the file is empty')
  if (!contentMatches(mediaType, bytes)) {
    const seen = sniffMediaType(bytes)
    throw new AppError(
      'file_content_mismatch',
      `the content is not ${mediaType}${seen ? ` (its first bytes are those of ${seen})` : ''}`,
    )
  }
}

/** Who asks and the file verbs' dependencies (`Ctx<FileDeps>` of context.ts, spelled out: context.ts imports FileDeps). */
type FileContext = { caller: Caller; deps: FileDeps }

/** Stores an upload (raw body, declared `Content-Type`); the same bytes are stored once. */
export async function uploadFile(
  { caller, deps }: FileContext,
  input: { contentType: string | undefined; body: Uint8Array },
): Promise<UploadedFile> {
  if (isAdmin(caller)) throw new AppError('forbidden', 'files are submitted by window operators and systems')
  const mediaType = baseMediaType(input.contentType)
  checkContent(deps, mediaType, input.body)
  const sha256 = sha256Of(input.body)
  const { file, created } = await deps.files.put(
    { sha256, mediaType, content: Buffer.from(input.body.buffer, input.body.byteOffset, input.body.byteLength) },
    actor(caller),
    'upload',
  )
  return { ...file, createdAt: file.createdAt.toISOString(), created }
}

/**
 * The file, for its uploader and the parties (origin or processing side) of a case that references it;
 * anyone else gets 404, as for an unknown file.
 */
/**
 * Whether the caller may read a stored file, or reference it in a submission: they uploaded it (or
 * fetched it from a peer), or they are a party of a case that references it (for a window operator, a
 * case their window collected). Knowing a file's hash is not enough.
 */
async function mayUse(caller: Caller, deps: FileDeps, sha256: string): Promise<boolean> {
  if (await deps.files.uploadedBy(sha256, actor(caller))) return true
  const snap = await deps.directory.snapshot()
  const refs = await deps.files.references(sha256)
  return refs.some(
    (r) =>
      departmentAllows(caller, r.item ?? null, snap.items) &&
      (isOriginParty(
        caller,
        { originRegion: r.originRegion, agent: r.agentWindow ? { window: r.agentWindow } : null },
        snap.regions,
      ) ||
        (r.processingRegion !== null && actsFor(caller, r.processingRegion, snap.regions))),
  )
}

/**
 * Of `wanted`, those not stored here or that this caller may not use (the caller cannot tell the two apart).
 * The stored ones are marked used (see `FileStore.use`).
 */
async function unusable(caller: Caller, deps: FileDeps, wanted: string[]): Promise<string[]> {
  const missing = await deps.files.use(wanted)
  const out: string[] = []
  for (const sha256 of wanted) {
    if (missing.includes(sha256) || !(await mayUse(caller, deps, sha256))) out.push(sha256)
  }
  return out
}

export async function readFile(
  { caller, deps }: FileContext,
  sha256: string,
): Promise<{ meta: StoredFileMeta; content: Buffer }> {
  const notFound = () => new AppError('not_found', `no file ${sha256}`)
  const stored = await deps.files.content(sha256)
  if (!stored) throw notFound()
  if (!(await mayUse(caller, deps, sha256))) throw notFound()
  return stored
}

/**
 * Every `sha256` the materials reference must be stored here. Those missing from a case that a peer gateway
 * delivers (a system client submitting for an origin region bound to `peer`) are fetched from it, their
 * hash and type checked, and stored; any still missing is 422 `unknown_file` naming each.
 */
export async function ensureMaterialFiles(
  { caller, deps }: FileContext,
  { originRegion, materials }: { originRegion: string; materials: { sha256?: string | undefined }[] },
): Promise<void> {
  const wanted = [...new Set(materials.flatMap((m) => (m.sha256 ? [m.sha256] : [])))]
  let missing = await unusable(caller, deps, wanted)
  if (missing.length === 0) return
  const problems = new Map<string, string>()
  const origin = caller.kind === 'client' && deps.adapters ? await deps.adapters.resolve(originRegion) : null
  if (origin?.kind === 'peer' && origin.adapter.fetchFile) {
    for (const sha256 of missing) {
      try {
        const got = await origin.adapter.fetchFile(sha256, {
          idempotencyKey: sha256,
          signal: AbortSignal.timeout(deps.fetchTimeoutMs ?? 30_000),
        })
        if (sha256Of(got.content) !== sha256) {
          problems.set(sha256, 'the file fetched from the origin gateway does not have this SHA-256: refused')
          continue
        }
        checkContent(deps, got.mediaType, got.content)
        await deps.files.put({ sha256, mediaType: got.mediaType, content: got.content }, actor(caller), 'peer')
      } catch (e) {
        problems.set(sha256, `could not be fetched from the origin gateway: ${isAppError(e) ? e.message : 'failed'}`)
      }
    }
    missing = await unusable(caller, deps, wanted)
  }
  if (missing.length === 0) return
  const errors: FieldError[] = []
  for (const [i, m] of materials.entries()) {
    if (m.sha256 && missing.includes(m.sha256)) {
      errors.push({
        path: `materials[${i}].sha256`,
        message: problems.get(m.sha256) ?? 'no such file: upload it first (POST /v1/files)',
      })
    }
  }
  throw new AppError('unknown_file', `${missing.length} referenced file(s) are not stored here`, { errors })
}
