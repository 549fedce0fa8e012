/**
 * Refunds on the finance desks: where a refund stands in its approval chain, which buttons its state and
 * the user's refund authority allow, and how much of an order is left to refund. The server decides in
 * the end (and refuses with its own words); these only keep dead buttons off the screen.
 */
import type { Schema } from '@/api/types'
import { t } from '@/i18n'
import { labelOf } from '@/utils/labels'

export type Refund = Schema<'FinanceRefundOut'>
export type RefundAuthority = Schema<'RefundAuthorityOut'>
export type OrderDetail = Schema<'OrderDetail'>

export const REFUND_STATES = ['pending_approval', 'approved', 'executing', 'succeeded', 'failed', 'rejected', 'cancelled'] as const
export const ORDER_STATES = ['created', 'paying', 'paid', 'partially_refunded', 'refunded', 'closed', 'cancelled'] as const
export const PAID_STATES: readonly string[] = ['paid', 'partially_refunded', 'refunded']
/** Refunds that hold (or held) part of the payment: everything but the ones that ended without money. */
const HOLDING_STATES: readonly string[] = ['pending_approval', 'approved', 'executing', 'succeeded']
/** Anomalies whose automatic refund returns a payment the order did not need. */
const SURPLUS_KINDS: readonly string[] = ['paid_twice', 'paid_after_close']

type TagType = 'primary' | 'success' | 'warning' | 'danger' | 'info'

const ORDER_STATE_TAGS: Record<string, TagType> = {
  created: 'primary',
  paying: 'primary',
  paid: 'success',
  partially_refunded: 'warning',
  refunded: 'info',
  closed: 'info',
  cancelled: 'info',
}

const REFUND_STATE_TAGS: Record<string, TagType> = {
  pending_approval: 'warning',
  approved: 'primary',
  executing: 'primary',
  succeeded: 'success',
  failed: 'danger',
  rejected: 'info',
  cancelled: 'info',
}

export const orderStateTag = (state: string): TagType => ORDER_STATE_TAGS[state] ?? 'info'
export const refundStateTag = (state: string): TagType => REFUND_STATE_TAGS[state] ?? 'info'

/**
 * Where a refund stands in its chain: `第1级/共2级` while it waits for a level (with the name of the role
 * that approves it when known, `· 财务主管`), `已审批（2/2级）` once through, `无需审批` when its amount
 * needed none.
 */
export function approvalLevelLabel(refund: Pick<Refund, 'state' | 'levels_required' | 'levels_approved'>, roleOf?: (level: number) => string | null): string {
  const { levels_required: required, levels_approved: approved } = refund
  if (required === 0) return t('refunds.noApproval')
  if (refund.state === 'pending_approval') {
    const level = approved + 1
    const label = t('refunds.level', { level, total: required })
    const role = roleOf?.(level)
    return role ? `${label} · ${role}` : label
  }
  if (refund.state === 'rejected') return t('refunds.rejectedAt', { level: approved + 1, total: required })
  return t('refunds.approvedLevels', { approved, total: required })
}

export interface RefundButtons {
  approve: boolean
  reject: boolean
  execute: boolean
}

/** The user asked for this refund: nobody approves or sends back the money of their own request. */
export function isOwnRequest(refund: Pick<Refund, 'requested_by'>, authority: Pick<RefundAuthority, 'staff_id'> | null): boolean {
  return !!authority && refund.requested_by.kind === 'staff' && refund.requested_by.id === authority.staff_id
}

/**
 * The buttons a refund shows to this user: approve and reject while it waits for a level and the user may
 * approve its amount; execute once approved (or to retry a failed one) for a user who may execute. None
 * on the user's own request (the server refuses those: own_refund_approval).
 */
export function refundButtons(refund: Pick<Refund, 'state' | 'amount_fen' | 'requested_by'>, authority: RefundAuthority | null): RefundButtons {
  if (isOwnRequest(refund, authority)) return { approve: false, reject: false, execute: false }
  const waiting = refund.state === 'pending_approval'
  const mayApprove =
    !!authority?.may_approve && (authority.approval_limit_fen === null || authority.approval_limit_fen >= refund.amount_fen)
  const mayExecute = !!authority?.may_execute && (refund.state === 'approved' || refund.state === 'failed')
  return { approve: waiting && mayApprove, reject: waiting && mayApprove, execute: mayExecute }
}

/** Who asked for a refund: `孙悦（F1001）`, a patient's masked phone, or 系统自动. */
export function requesterLabel(refund: Pick<Refund, 'is_automatic' | 'requested_by'>): string {
  const asked = refund.requested_by
  if (refund.is_automatic || asked.kind === 'system') return labelOf('requesterKinds', 'automatic')
  if (asked.kind === 'staff') return asked.staff_number ? `${asked.name}（${asked.staff_number}）` : asked.name
  return `${labelOf('requesterKinds', 'patient')} ${asked.name}`
}

/** A member of staff as the desks name them: `朱浩（F1002）`. */
export function staffLabel(staff: { name: string; staff_number: string } | null | undefined): string | null {
  return staff ? `${staff.name}（${staff.staff_number}）` : null
}

/**
 * What staff may still ask to refund on an order: what was paid, less the refunds that hold part of it
 * (waiting, approved, executing or done). A second payment, or one after the order closed, is refunded
 * automatically from that payment, not the order's: those refunds are the ones flagged with such an anomaly.
 */
export function refundableFen(order: Pick<OrderDetail, 'state' | 'paid_fen' | 'refunds' | 'anomalies'>): number {
  if (!PAID_STATES.includes(order.state)) return 0
  const surplus = new Set(
    order.anomalies.filter((anomaly) => SURPLUS_KINDS.includes(anomaly.kind)).map((anomaly) => anomaly.refund_id),
  )
  const held = order.refunds
    .filter((refund) => HOLDING_STATES.includes(refund.state) && !(refund.is_automatic && surplus.has(refund.id)))
    .reduce((sum, refund) => sum + refund.amount_fen, 0)
  return Math.max(0, order.paid_fen - held)
}
