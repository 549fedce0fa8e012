/** Finance API answers for the tests, shaped as the server sends them. */
import type { Schema } from '@/api/types'

export const ORDER_NUMBER = 'P2026112714300012345678'
export const REFUND_ID = '0192f0a0-0000-7000-8000-000000000010'
export const CLERK = '0192f0a0-0000-7000-8000-0000000000a1'
export const APPROVER = '0192f0a0-0000-7000-8000-0000000000a2'

export const SECOND_CLERK = '0192f0a0-0000-7000-8000-0000000000a3'

export function refund(overrides: Partial<Schema<'FinanceRefundOut'>> = {}): Schema<'FinanceRefundOut'> {
  return {
    id: REFUND_ID,
    refund_number: 'R2026112714400099',
    order_id: '0192f0a0-0000-7000-8000-000000000001',
    order_number: ORDER_NUMBER,
    channel: 'wechat',
    requested_by: { kind: 'staff', id: SECOND_CLERK, name: '朱浩', staff_number: 'F1002' },
    amount_fen: 1000,
    reason: '检查取消',
    state: 'pending_approval',
    is_automatic: false,
    requested_by_kind: 'staff',
    levels_required: 1,
    levels_approved: 0,
    created_at: '2026-11-27T06:40:00Z',
    submitted_at: null,
    succeeded_at: null,
    last_error: null,
    rejection_note: null,
    ...overrides,
  }
}

/** A clinic bill of 35 yuan paid with WeChat Pay, written to the HIS, with 10 yuan refunded. */
export function paidOrder(overrides: Partial<Schema<'OrderDetail'>> = {}): Schema<'OrderDetail'> {
  return {
    order_number: ORDER_NUMBER,
    business_kind: 'clinic_bill',
    business_reference: 'HIS-BILL-1',
    description: '诊间缴费 检验科',
    state: 'partially_refunded',
    total_fen: 3500,
    discount_fen: 0,
    payable_fen: 3500,
    insurance_fund_fen: 0,
    personal_account_fen: 0,
    self_pay_fen: 3500,
    is_insured: false,
    paid_fen: 3500,
    refunded_fen: 1000,
    channel: 'wechat',
    created_at: '2026-11-27T06:30:00Z',
    expires_at: '2026-11-27T06:45:00Z',
    paid_at: '2026-11-27T06:31:00Z',
    closed_at: null,
    his_state: 'written',
    his_receipt_number: 'SF20261127000123',
    his_written_at: '2026-11-27T06:31:05Z',
    patient_name: '张*',
    lines: [
      { item_code: 'JC0001', name: '血常规', quantity: 1, unit_price_fen: 2500, amount_fen: 2500 },
      { item_code: 'JY0002', name: '尿常规', quantity: 2, unit_price_fen: 500, amount_fen: 1000 },
    ],
    attempts: [{ channel: 'wechat', scene: 'h5', created_at: '2026-11-27T06:30:30Z', is_current: true }],
    payments: [
      {
        channel: 'wechat',
        transaction_id: '4200000000000000000000001234',
        amount_fen: 3500,
        paid_at: '2026-11-27T06:31:00Z',
        disposition: 'applied',
        refunded_fen: 1000,
      },
    ],
    notifications: [
      {
        channel: 'wechat',
        notification_id: null,
        received_at: '2026-11-27T06:30:50Z',
        is_verified: false,
        rejection_reason: 'bad signature',
        kind: null,
        outcome: null,
      },
      {
        channel: 'wechat',
        notification_id: 'EV-1',
        received_at: '2026-11-27T06:31:02Z',
        is_verified: true,
        rejection_reason: null,
        kind: 'payment',
        outcome: 'paid',
      },
      {
        channel: 'wechat',
        notification_id: 'EV-2',
        received_at: '2026-11-27T06:50:05Z',
        is_verified: true,
        rejection_reason: null,
        kind: 'refund',
        outcome: 'succeeded',
      },
    ],
    refunds: [
      refund({
        state: 'succeeded',
        levels_approved: 1,
        submitted_at: '2026-11-27T06:50:00Z',
        succeeded_at: '2026-11-27T06:50:04Z',
      }),
    ],
    approvals: [
      {
        refund_id: REFUND_ID,
        level: 1,
        approver_id: APPROVER,
        approver: { id: APPROVER, name: '秦磊', staff_number: 'F2001' },
        decision: 'approved',
        note: '同意',
        decided_at: '2026-11-27T06:45:00Z',
      },
    ],
    anomalies: [],
    ...overrides,
  }
}

export function authority(overrides: Partial<Schema<'RefundAuthorityOut'>> = {}): Schema<'RefundAuthorityOut'> {
  return {
    staff_id: CLERK,
    staff_name: '孙悦',
    staff_number: 'F1001',
    may_request: true,
    may_approve: true,
    approval_limit_fen: 100_000,
    may_execute: true,
    ...overrides,
  }
}
