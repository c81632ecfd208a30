/** A delivered case and a follow-up, as the dispatch worker hands them to an adapter. */
import type { FollowUp, OutboundCase } from '../../src/ports/region-adapter.js'
import { residentId } from '../fixtures/cases.js'

/** The applicant's identity number: no log line and no error may contain it. */
export const IDENTITY_NUMBER = residentId('42030319850715201')

export function sampleCase(overrides: Partial<OutboundCase> = {}): OutboundCase {
  return {
    caseId: '0190f5a2-7b1c-7cc4-9a51-3d2f8e6b1a01',
    externalRef: 'ZW-2026-000123',
    item: 'hukou-transfer-spouse',
    itemName: '夫妻投靠户口迁移',
    mode: 'offline_proxy',
    scope: 'cross_city',
    originRegion: '420303',
    processingRegion: '420600',
    agreement: { id: 'xsss-2026', version: 3 },
    applicant: { kind: 'person', name: '张三', idType: 'resident_id', idNumber: IDENTITY_NUMBER, phone: '13800138000' },
    agent: { window: 'ZW-KSTB-01', operator: '李窗口' },
    form: { applicantName: '张三', applicantPhone: '13800138000', moveToAddress: '湖北省襄阳市樊城区人民路2号' },
    materials: [
      { code: 'applicant-id-card', form: 'paper' },
      { code: 'marriage-certificate', form: 'electronic', sha256: 'a'.repeat(64) },
    ],
    delivery: { method: 'window_pickup' },
    dueDate: '2026-04-30',
    submittedAt: '2026-03-02T01:02:03.000Z',
    receipt: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
    ...overrides,
  }
}

export function sampleFollowUp(remoteRef: string, overrides: Partial<FollowUp> = {}): FollowUp {
  return {
    caseId: sampleCase().caseId,
    remoteRef,
    seq: 3,
    type: 'materials_shipped',
    at: '2026-03-03T08:00:00.000Z',
    data: { carrier: 'EMS', trackingNumber: 'EMS-1234567' },
    ...overrides,
  }
}
