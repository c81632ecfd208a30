import { describe, expect, it } from 'vitest'
import { escapeHtml, renderTransferSlip, type TransferSlipInput } from '../../src/services/cases/transfer-slip.js'
import { residentId } from '../fixtures/cases.js'

const fullId = residentId()
const caseId = '0194f5c2-7d3a-7b1e-9c4f-2a6b8e0d1f37'

function slip(overrides: Partial<TransferSlipInput> = {}): TransferSlipInput {
  return {
    caseId,
    slipNumber: 'LZD-20260929-0194f5c2',
    item: { code: 'hukou-transfer-spouse', name: '夫妻投靠户口迁移', department: '襄阳市公安局' },
    mode: 'offline_proxy',
    originRegion: { code: '420303', name: '张湾区' },
    processingRegion: { code: '420600', name: '襄阳市' },
    office: '襄阳市政务服务中心 跨市通办窗口',
    applicant: { name: '张三', idNumberMasked: `${fullId.slice(0, 6)}********${fullId.slice(-4)}` },
    agent: { window: 'ZW-KSTB-01', operator: '李窗口' },
    materials: [
      { code: 'applicant-id-card', name: '居民身份证', form: 'paper' },
      { code: 'hukou-booklet', name: '居民户口簿', form: 'paper', copies: 2 },
      { code: 'marriage-certificate', name: '结婚证', form: 'e_certificate' },
    ],
    carrier: 'EMS',
    trackingNumber: 'EA123456789CN',
    dueDate: '2026-10-20',
    submittedAt: '2026-09-29T02:05:00.000Z',
    gatewayId: 'gw-420300',
    ...overrides,
  }
}

describe('renderTransferSlip', () => {
  it('is a complete zh-CN page with the case id, masked id, every material and an SVG QR code', async () => {
    const html = await renderTransferSlip(slip())
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true)
    expect(html).toContain('<html lang="zh-CN">')
    expect(html).toContain('政务服务事项异地代收代办流转单')
    expect(html).toContain(caseId)
    expect(html).toContain('LZD-20260929-0194f5c2')
    expect(html).toContain(`${fullId.slice(0, 6)}********${fullId.slice(-4)}`)
    for (const name of ['居民身份证', '居民户口簿', '结婚证']) expect(html).toContain(name)
    expect(html.match(/☐/g)?.length).toBe(3)
    expect(html).toMatch(/<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
    expect(html).toContain('EA123456789CN')
    expect(html).toContain('襄阳市政务服务中心 跨市通办窗口')
    expect(html).toContain('ZW-KSTB-01')
    expect(html).toContain('2026-09-29 10:05') // China Standard Time
    expect(html).toContain('异地代收代办·线下代办（邮寄）') // the mode as the console names it
    expect(html).toContain('@media print')
    expect(html).toContain('size: A4')
    expect(html).not.toContain(fullId)
  })

  it('loads nothing from outside and runs no script', async () => {
    const html = await renderTransferSlip(slip())
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(/i)
    expect(html).not.toMatch(/\b(src|href)=/i)
  })

  it('escapes every interpolated value', async () => {
    const evil = '<script>alert("x")</script>'
    const html = await renderTransferSlip(
      slip({
        applicant: { name: evil, idNumberMasked: '420303********1234' },
        office: `"><img src=x onerror=alert(1)>`,
        item: { code: 'x', name: `A&B ${evil}`, department: "O'Brien" },
        materials: [{ code: 'm', name: evil, form: '<b>paper</b>' }],
        agent: { window: evil, operator: evil },
        carrier: evil,
        trackingNumber: evil,
        gatewayId: evil,
        slipNumber: evil,
        originRegion: { code: evil, name: evil },
      }),
    )
    expect(html).not.toContain('<script>')
    expect(html).not.toContain('<img')
    expect(html).not.toContain('<b>paper</b>')
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;')
    expect(html).toContain('A&amp;B')
    expect(html).toContain('O&#39;Brien')
  })

  it('leaves blank lines for the carrier and tracking number when not yet known', async () => {
    const html = await renderTransferSlip(slip({ carrier: null, trackingNumber: undefined, dueDate: null }))
    const shipping = html.slice(html.indexOf('五、寄递信息'), html.indexOf('class="signs"'))
    expect(shipping.match(/class="blank"/g)?.length).toBe(2)
    expect(html).toContain('以办理地答复为准')
  })

  it('never shows an identity number in full, even when handed one unmasked', async () => {
    const html = await renderTransferSlip(slip({ applicant: { name: '张三', idNumberMasked: fullId } }))
    expect(html).not.toContain(fullId)
    expect(html).toContain(`${fullId.slice(0, 6)}********${fullId.slice(-4)}`)
  })

  it('works without an agent or materials', async () => {
    const html = await renderTransferSlip(slip({ agent: null, materials: [], office: undefined }))
    expect(html).toContain('（无）')
  })
})

describe('escapeHtml', () => {
  it.each([
    ['<a href="x">', '&lt;a href=&quot;x&quot;&gt;'],
    ["it's & more", 'it&#39;s &amp; more'],
    [null, ''],
    [3, '3'],
  ])('%s', (input, expected) => {
    expect(escapeHtml(input)).toBe(expected)
  })
})
