/**
 * What the app makes of an order and its refunds: labels, which states go together for the patient,
 * which payment channels this build offers, and when to keep asking the server.
 *
 * Order states (server): created → paying → paid → partially_refunded / refunded; created or paying →
 * closed (hold time over) or cancelled. The patient sees created and paying both as 待支付.
 * Refund states: pending_approval → approved → executing → succeeded; rejected; failed (the channel
 * refused: the hospital handles it and may send it again).
 */
import type { Schema } from '../api/types'
import type { MessageKey } from '../locale'
import { backoff } from './polling'
import type { Platform } from './platform'

export type Order = Schema<'OrderOut'>
/** One order as its page shows it: whom it is for and its lines, besides the order. */
export type OrderDetail = Schema<'PatientOrderDetail'>
export type OrderLine = Schema<'OrderLineOut'>
export type Refund = Schema<'RefundOut'>
export type Channel = Schema<'ChannelOut'>
export type ChannelName = Schema<'PayIn'>['channel']
export type Scene = NonNullable<Schema<'PayIn'>['scene']>

export const PAYABLE_STATES = ['created', 'paying']
export const PAID_STATES = ['paid', 'partially_refunded', 'refunded']
export const CLOSED_STATES = ['closed', 'cancelled']
/** Refunds still on their way. */
export const OPEN_REFUND_STATES = ['pending_approval', 'approved', 'executing']
/** Refunds that hold (part of) the paid amount: every one but those that ended without money back. */
const RESERVING_REFUND_STATES = [...OPEN_REFUND_STATES, 'succeeded']

export type StateGroup = 'unpaid' | 'paid' | 'partiallyRefunded' | 'refunded' | 'closed' | 'other'

export function stateGroup(state: string): StateGroup {
  if (PAYABLE_STATES.includes(state)) return 'unpaid'
  if (state === 'paid') return 'paid'
  if (state === 'partially_refunded') return 'partiallyRefunded'
  if (state === 'refunded') return 'refunded'
  if (CLOSED_STATES.includes(state)) return 'closed'
  return 'other'
}

/** 待支付, 已支付, 部分退款, 已退款, 已关闭. */
export function orderStateKey(state: string): MessageKey {
  return `order.state.${stateGroup(state)}` as MessageKey
}

export function refundStateKey(state: string): MessageKey {
  const known = ['pending_approval', 'approved', 'executing', 'succeeded', 'rejected', 'failed']
  return `refund.state.${known.includes(state) ? state : 'other'}` as MessageKey
}

export function channelKey(channel: string | null | undefined): MessageKey {
  const known = ['wechat', 'alipay', 'unionpay', 'insurance']
  return `channel.${channel && known.includes(channel) ? channel : 'other'}` as MessageKey
}

export function isPayable(order: Pick<Order, 'state'>): boolean {
  return PAYABLE_STATES.includes(order.state)
}

export function isPaid(order: Pick<Order, 'state'>): boolean {
  return PAID_STATES.includes(order.state)
}

/**
 * What may still be asked back: paid, less every refund that is not rejected or failed. The server
 * decides (it keeps the same sum); this only decides whether to offer 申请退款 and its default amount.
 */
export function refundableFen(order: Pick<Order, 'state' | 'paid_fen'>, refunds: Pick<Refund, 'state' | 'amount_fen'>[]): number {
  if (!isPaid(order)) return 0
  const held = refunds
    .filter((refund) => RESERVING_REFUND_STATES.includes(refund.state))
    .reduce((sum, refund) => sum + refund.amount_fen, 0)
  return Math.max(0, order.paid_fen - held)
}

/**
 * The channels this build can pay with, in the hospital's order: the WeChat mini-program can open WeChat
 * Pay only, the Alipay one Alipay only; both can open the medical-insurance cashier (a web page). H5 offers
 * every channel the hospital enabled.
 */
export function channelsFor(platform: Platform, enabled: Channel[]): Channel[] {
  const allowed: Record<Platform, string[] | null> = {
    h5: null,
    'mp-weixin': ['wechat', 'insurance'],
    'mp-alipay': ['alipay', 'insurance'],
  }
  const list = allowed[platform]
  return enabled
    .filter((channel) => channel.is_enabled && (list === null || list.includes(channel.channel)))
    .sort((a, b) => a.sort_order - b.sort_order)
}

/**
 * How the payment opens: the mini-programs' own payment call for their own channel; a web page (the
 * channel's H5 cashier, or the insurance's, whose authorisation happens in that page) for the others.
 */
export function sceneFor(platform: Platform, channel: string): Scene {
  if (platform === 'mp-weixin' && channel === 'wechat') return 'mini_program'
  if (platform === 'mp-alipay' && channel === 'alipay') return 'mini_program'
  return 'h5'
}

/** While the payment is being confirmed: ask again until the order is no longer payable. */
export function nextPaymentCheck(order: Pick<Order, 'state'>, attempt: number): number | null {
  return isPayable(order) ? backoff(attempt) : null
}

/** How long the app waits for a payment to be confirmed before saying it has not heard yet. */
export const PAYMENT_CONFIRM_TIMEOUT_MS = 60_000

/**
 * While the detail page is open: how soon to ask again, or null when nothing is on its way. A payment
 * being confirmed and the HIS write-back come within seconds; a refund waits for people (approval) and
 * then the channel, so it is asked about less often.
 */
export function nextDetailRefresh(
  order: Pick<Order, 'state' | 'his_state'>,
  refunds: Pick<Refund, 'state'>[],
  attempt: number,
): number | null {
  if (order.state === 'paying') return backoff(attempt)
  if (isPaid(order) && order.his_state === 'pending') return backoff(attempt)
  if (refunds.some((refund) => refund.state === 'approved' || refund.state === 'executing')) return 3000
  if (refunds.some((refund) => refund.state === 'pending_approval')) return 10_000
  return null
}

/**
 * The order states behind each tab of the spending history; an empty list is every order. The server takes
 * several states at once (`state=partially_refunded,refunded`).
 */
export const HISTORY_TABS: { key: string; label: MessageKey; states: string[] }[] = [
  { key: 'all', label: 'orders.tab.all', states: [] },
  { key: 'unpaid', label: 'orders.tab.unpaid', states: ['created', 'paying'] },
  { key: 'paid', label: 'orders.tab.paid', states: ['paid'] },
  { key: 'refunded', label: 'orders.tab.refunded', states: ['partially_refunded', 'refunded'] },
  { key: 'closed', label: 'orders.tab.closed', states: ['closed', 'cancelled'] },
]

/** The `state` query of a history tab: its states separated by commas, or nothing for every order. */
export function historyState(key: string): string | undefined {
  const states = HISTORY_TABS.find((tab) => tab.key === key)?.states ?? []
  return states.length ? states.join(',') : undefined
}
