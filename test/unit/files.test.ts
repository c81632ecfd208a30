import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../config/env.js'
import { baseMediaType, contentMatches, sniffMediaType } from '../../src/domain/files.js'
import { files } from '../fixtures/one-thing.js'

const ofd = Buffer.concat([
  Buffer.from([0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0]),
  Buffer.from('....OFD.xml....', 'latin1'),
])

describe('material files: declared type against magic bytes', () => {
  it.each([
    ['application/pdf', files.pdf()],
    ['image/png', files.png()],
    ['image/jpeg', files.jpeg()],
    ['application/ofd', ofd],
  ])('%s matches its own bytes and no other type', (type, bytes) => {
    expect(contentMatches(type, bytes)).toBe(true)
    expect(sniffMediaType(bytes)).toBe(type)
    for (const other of ['application/pdf', 'image/png', 'image/jpeg', 'application/ofd'].filter((t) => t !== type)) {
      expect(contentMatches(other, bytes), other).toBe(false)
    }
  })

  it('refuses what it cannot check, empty and truncated bytes, and a ZIP without OFD.xml', () => {
    expect(contentMatches('text/plain', Buffer.from('hello'))).toBe(false)
    expect(contentMatches('application/pdf', Buffer.alloc(0))).toBe(false)
    expect(contentMatches('image/png', files.png().subarray(0, 7))).toBe(false)
    expect(contentMatches('application/ofd', Buffer.from('PK\u0003\u0004word/document.xml', 'latin1'))).toBe(false)
    expect(sniffMediaType(Buffer.from('GIF89a'))).toBeNull()
  })

  it('reads the media type of a Content-Type header', () => {
    expect(baseMediaType('Application/PDF; charset=binary')).toBe('application/pdf')
    expect(baseMediaType(undefined)).toBe('')
  })

  it('FILE_MEDIA_TYPES may name only types the gateway can check; FILE_MAX_BYTES has a floor', () => {
    expect(loadConfig({ FILE_MEDIA_TYPES: 'application/pdf, image/png' }).files).toEqual({
      maxBytes: 20 * 1024 * 1024,
      mediaTypes: ['application/pdf', 'image/png'],
      unusedRetentionHours: 168,
    })
    expect(() => loadConfig({ FILE_MEDIA_TYPES: 'application/pdf,text/html' })).toThrow(/FILE_MEDIA_TYPES/)
    expect(() => loadConfig({ FILE_MAX_BYTES: '10' })).toThrow(/FILE_MAX_BYTES/)
    expect(loadConfig({ FILE_UNUSED_RETENTION_HOURS: '24' }).files.unusedRetentionHours).toBe(24)
    expect(() => loadConfig({ FILE_UNUSED_RETENTION_HOURS: '0' })).toThrow(/FILE_UNUSED_RETENTION_HOURS/)
  })
})
