/**
 * Files submitted as materials: which media types the gateway takes, and what their first bytes must be.
 * Pure; the declared `Content-Type` of an upload must match what the bytes are (no PDF named image/png).
 */

/** Magic numbers of the media types a material may be, by declared type. */
const signatures: Record<string, (b: Uint8Array) => boolean> = {
  'application/pdf': (b) => startsWith(b, [0x25, 0x50, 0x44, 0x46, 0x2d]), // %PDF-
  'image/jpeg': (b) => startsWith(b, [0xff, 0xd8, 0xff]),
  'image/png': (b) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  // OFD (GB/T 33190) is a ZIP container whose entry OFD.xml names the documents.
  'application/ofd': (b) => startsWith(b, [0x50, 0x4b, 0x03, 0x04]) && includesAscii(b, 'OFD.xml'),
}

/** Media types the gateway knows how to check; an allow-list may name only these. */
export const knownMediaTypes: readonly string[] = Object.keys(signatures)

function startsWith(b: Uint8Array, prefix: number[]): boolean {
  return b.length >= prefix.length && prefix.every((x, i) => b[i] === x)
}

function includesAscii(b: Uint8Array, text: string): boolean {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).includes(text, 0, 'latin1')
}

/** The media type part of a Content-Type header, lower-cased, without parameters. */
export function baseMediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
}

/** Whether `bytes` are what `mediaType` says (its magic number); false for a type the gateway cannot check. */
export function contentMatches(mediaType: string, bytes: Uint8Array): boolean {
  return signatures[mediaType]?.(bytes) ?? false
}

/** The known type whose magic number `bytes` carry, or null (for an error message). */
export function sniffMediaType(bytes: Uint8Array): string | null {
  return knownMediaTypes.find((t) => contentMatches(t, bytes)) ?? null
}

export const Sha256Hex = /^[0-9a-f]{64}$/
