/** Secret files under the data dir: directories 0700, files 0600, written so that no reader sees half a file. */
import { randomBytes } from 'node:crypto'
import { chmod, link, mkdir, open, rename, unlink } from 'node:fs/promises'
import path from 'node:path'

/** Writes `text` to a fresh temp file (0600, fsynced) next to `file`, creating the directory 0700. */
async function writeTemp(file: string, text: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`
  const handle = await open(tmp, 'wx', 0o600)
  try {
    await handle.writeFile(text)
    await handle.sync()
  } finally {
    await handle.close()
  }
  // The umask may have narrowed the mode, never widened it; make it exact anyway.
  await chmod(tmp, 0o600)
  return tmp
}

/** Replaces `file` with `text` atomically (temp file + rename). */
export async function writeSecretFile(file: string, text: string): Promise<void> {
  const tmp = await writeTemp(file, text)
  try {
    await rename(tmp, file)
  } catch (e) {
    await unlink(tmp).catch(() => {})
    throw e
  }
}

/**
 * Creates `file` with `text` unless it exists, atomically (temp file + hard link, which fails on an existing
 * target); false when another process created it first.
 */
export async function createSecretFile(file: string, text: string): Promise<boolean> {
  const tmp = await writeTemp(file, text)
  try {
    await link(tmp, file)
    return true
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return false
    // File systems without hard links: a rename is still atomic for readers, only the race is lost.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
      await rename(tmp, file)
      return true
    }
    throw e
  } finally {
    await unlink(tmp).catch(() => {})
  }
}
