/**
 * The case bodies the demo submits at 张湾区's window, and the tests' fixtures build on (test/fixtures/cases.ts):
 * the one place a 户籍证明 and a company's establishment are written out. The applicant is a made-up
 * 张湾区 resident whose id number is only syntactically valid.
 */
import { residentIdCheckChar } from '../domain/identity.js'

/** A syntactically valid resident id (not a real person's): base digits plus the computed check character. */
export function residentId(base17 = '42030319900307123'): string {
  return base17 + residentIdCheckChar(base17)
}

export const applicant = {
  kind: 'person' as const,
  name: '张三',
  idType: 'resident_id' as const,
  idNumber: residentId(),
  phone: '13800138000',
}

/** 开具户籍类证明 from 张湾区 to 襄阳市 (襄十随神, cross_city), in `mode`, picked up at the window. */
export function hukouCertificateBody(mode: string) {
  return {
    item: 'hukou-certificate',
    mode,
    originRegion: '420303',
    processingRegion: '420600',
    applicant,
    form: { applicantName: '张三', applicantPhone: '13800138000', certificateType: '户籍证明', purpose: '子女入学' },
    materials: [
      { code: 'applicant-id-card', form: 'paper' },
      { code: 'hukou-booklet', form: 'paper' },
    ],
    delivery: { method: 'window_pickup' },
  }
}

/** 内资企业设立登记 of a 十堰 company, handled at each of `sites` at once (multi_site). */
export function enterpriseEstablishmentBody(sites: string[]) {
  return {
    item: 'enterprise-establishment',
    mode: 'multi_site',
    originRegion: '420303',
    sites,
    applicant: { kind: 'organization', name: '十堰市某某餐饮有限公司', idType: 'uscc', idNumber: '91350100M000100Y43' },
    form: {
      applicantName: '张三',
      applicantPhone: '13800138000',
      enterpriseName: '十堰市某某餐饮有限公司',
      enterpriseType: '有限责任公司',
      legalRepresentative: '张三',
      businessAddress: '十堰市张湾区车城路1号',
      registeredCapital: 100,
      businessScope: '餐饮服务',
    },
    materials: [
      'articles-of-association',
      'legal-rep-id',
      'shareholder-qualification-proof',
      'appointment-documents',
      'premises-proof',
    ].map((code) => ({ code, form: 'paper' })),
  }
}
