/**
 * The finance desks' searches: the filters as the form holds them, as the address keeps them (so that
 * coming back from an order's page shows the same search), and as the API takes them (amounts in fen).
 */
import type { LocationQuery, LocationQueryRaw } from 'vue-router'

import type { operations } from '@/api/schema'
import { amountProblem, parseYuan, type AmountProblem } from '@/utils/money'

export type OrderQuery = NonNullable<operations['search_orders_api_v1_finance_orders_get']['parameters']['query']>
export type RefundQuery = NonNullable<operations['search_refunds_api_v1_finance_refunds_get']['parameters']['query']>

export interface OrderFilters {
  /** Order number or the channel's transaction id. */
  orderNumber: string
  /** Name, ID number or phone. */
  patient: string
  cardNumber: string
  channel: string
  state: string
  businessKind: string
  /** Yuan, as typed. */
  minAmount: string
  maxAmount: string
  /** ISO times, or empty. */
  since: string
  until: string
}

const ORDER_KEYS: Record<keyof OrderFilters, string> = {
  orderNumber: 'number',
  patient: 'patient',
  cardNumber: 'card',
  channel: 'channel',
  state: 'state',
  businessKind: 'kind',
  minAmount: 'min',
  maxAmount: 'max',
  since: 'since',
  until: 'until',
}

export function emptyOrderFilters(): OrderFilters {
  return {
    orderNumber: '',
    patient: '',
    cardNumber: '',
    channel: '',
    state: '',
    businessKind: '',
    minAmount: '',
    maxAmount: '',
    since: '',
    until: '',
  }
}

const first = (value: LocationQuery[string] | undefined): string => {
  const found = Array.isArray(value) ? value[0] : value
  return typeof found === 'string' ? found : ''
}

/** The filters the address holds (unknown or repeated parameters are ignored). */
export function orderFiltersFromRoute(query: LocationQuery): OrderFilters {
  const filters = emptyOrderFilters()
  for (const [field, key] of Object.entries(ORDER_KEYS) as [keyof OrderFilters, string][]) {
    filters[field] = first(query[key])
  }
  return filters
}

/** The filters for the address: only those that are set, trimmed. */
export function orderFiltersToRoute(filters: OrderFilters, page = 1): LocationQueryRaw {
  const query: LocationQueryRaw = {}
  for (const [field, key] of Object.entries(ORDER_KEYS) as [keyof OrderFilters, string][]) {
    const value = filters[field].trim()
    if (value) query[key] = value
  }
  if (page > 1) query.page = String(page)
  return query
}

/** True when nothing is filtered: the desk then lists the newest orders. */
export function noOrderFilters(filters: OrderFilters): boolean {
  return Object.values(filters).every((value) => !value.trim())
}

/** Why the filters cannot be sent (the amount fields), or null. */
export function orderFiltersProblem(filters: OrderFilters): { field: 'minAmount' | 'maxAmount'; problem: AmountProblem } | null {
  for (const field of ['minAmount', 'maxAmount'] as const) {
    const problem = amountProblem(filters[field])
    if (problem) return { field, problem }
  }
  const min = parseYuan(filters.minAmount)
  const max = parseYuan(filters.maxAmount)
  if (min !== null && max !== null && min > max) return { field: 'maxAmount', problem: { key: 'finance.amountRangeProblem' } }
  return null
}

export function orderQuery(filters: OrderFilters, page: number, pageSize: number): OrderQuery {
  const text = (value: string) => value.trim() || undefined
  const fen = (value: string) => (value.trim() ? (parseYuan(value) ?? undefined) : undefined)
  return {
    order_number: text(filters.orderNumber),
    patient: text(filters.patient),
    card_number: text(filters.cardNumber),
    channel: text(filters.channel),
    state: text(filters.state),
    business_kind: text(filters.businessKind),
    min_amount_fen: fen(filters.minAmount),
    max_amount_fen: fen(filters.maxAmount),
    since: text(filters.since),
    until: text(filters.until),
    page,
    page_size: pageSize,
  }
}

export interface RefundFilters {
  refundNumber: string
  state: string
  channel: string
  /** [since, until] from the range picker, or null. */
  range: [Date, Date] | null
}

export function emptyRefundFilters(): RefundFilters {
  return { refundNumber: '', state: '', channel: '', range: null }
}

export function refundQuery(filters: RefundFilters, page: number, pageSize: number): RefundQuery {
  const text = (value: string) => value.trim() || undefined
  return {
    refund_number: text(filters.refundNumber),
    state: text(filters.state),
    channel: text(filters.channel),
    since: filters.range ? filters.range[0].toISOString() : undefined,
    until: filters.range ? filters.range[1].toISOString() : undefined,
    page,
    page_size: pageSize,
  }
}
