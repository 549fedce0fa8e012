/** Abnormal orders (异常订单): their kinds, and their details in words. */
import { i18n, t } from '@/i18n'
import { formatDateTime } from '@/utils/format'
import { labelOf } from '@/utils/labels'
import { yuan } from '@/utils/money'

/** The kinds the server flags (src/ihos/billing/anomalies.py), in the order the guide explains them. */
export const ANOMALY_KINDS = [
  'amount_mismatch',
  'paid_twice',
  'paid_after_close',
  'paid_not_written',
  'written_not_paid',
  'refund_stuck',
] as const

export interface DetailLine {
  label: string
  value: string
}

/**
 * An anomaly's details as label and value: amounts (`…_fen`) in yuan, times as local times, known keys
 * by their Chinese name, unknown ones as they are (nothing the server said is hidden).
 */
export function describeDetails(details: Record<string, unknown> | null | undefined): DetailLine[] {
  return Object.entries(details ?? {}).map(([key, value]) => {
    const labelKey = `anomalyDetails.${key}`
    const label = i18n.global.te(labelKey) ? t(labelKey) : key
    return { label, value: detailValue(key, value) }
  })
}

function detailValue(key: string, value: unknown): string {
  if (value === null || value === undefined || value === '') return '—'
  if (key.endsWith('_fen') && typeof value === 'number') return yuan(value)
  if (key === 'channel' && typeof value === 'string') return labelOf('payChannels', value)
  if (key.endsWith('_at') && typeof value === 'string') return formatDateTime(value, true)
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}
