/**
 * An order's life as one timeline, from what `GET /api/v1/finance/orders/{order_number}` returns: created,
 * each prepay attempt (per channel), each notification received (verified or refused, and what came of
 * it), the payment, the HIS write-back, each refund with its approval levels, and the anomalies.
 *
 * Events are in time order. A step the API gives no time for (a refund the channel refused, the HIS
 * write-back still awaited) is placed right after the step it follows, and shown without a time. People
 * are named as the API names them (requester, approver, who handled an anomaly).
 */
import { t } from '@/i18n'
import { labelOf } from '@/utils/labels'
import { yuan } from '@/utils/money'

import { describeDetails } from './anomalies'
import { requesterLabel, staffLabel, type OrderDetail } from './refunds'

export type EventType = 'primary' | 'success' | 'warning' | 'danger' | 'info'

export interface TimelineEvent {
  /** Stable key for the list. */
  key: string
  /** When it happened (ISO), or null when the API does not say. */
  at: string | null
  title: string
  /** Lines under the title. */
  lines: string[]
  type: EventType
  /** What kind of step, for tests and styling. */
  kind:
    | 'created'
    | 'attempt'
    | 'payment'
    | 'notification'
    | 'his'
    | 'refund'
    | 'approval'
    | 'refund_submitted'
    | 'refund_succeeded'
    | 'refund_failed'
    | 'anomaly'
    | 'anomaly_handled'
    | 'closed'
}

export interface TimelineNames {
  /** A channel's display name (微信支付). */
  channel?: (code: string) => string
}

/** Ranks break ties between events of the same moment, in the order things happen. */
const RANK: Record<TimelineEvent['kind'], number> = {
  created: 0,
  attempt: 1,
  payment: 2,
  notification: 3,
  his: 4,
  refund: 5,
  approval: 6,
  refund_submitted: 7,
  refund_succeeded: 8,
  refund_failed: 8,
  anomaly: 9,
  anomaly_handled: 10,
  closed: 11,
}

interface Pending extends TimelineEvent {
  /** Where it sorts: its own time, or the time of the step it follows. */
  sortAt: number
  seq: number
}

const time = (value: string | null | undefined): number => (value ? new Date(value).getTime() : Number.NaN)

const OUTCOME_TYPES: Record<string, EventType> = {
  paid: 'success',
  succeeded: 'success',
  paid_twice: 'warning',
  paid_after_close: 'warning',
  failed: 'danger',
  unknown_order: 'warning',
  unknown_refund: 'warning',
}

export function notificationOutcome(outcome: string | null | undefined): string {
  if (!outcome) return '—'
  if (outcome.startsWith('ignored:')) return t('timeline.ignored', { state: outcome.slice('ignored:'.length) })
  return labelOf('notificationOutcomes', outcome)
}

export function buildTimeline(order: OrderDetail, names: TimelineNames = {}): TimelineEvent[] {
  const channel = names.channel ?? ((code: string) => labelOf('payChannels', code))
  const events: Pending[] = []
  const add = (event: TimelineEvent, sortAt: number) => events.push({ ...event, sortAt, seq: events.length })

  add(
    {
      key: 'created',
      at: order.created_at,
      kind: 'created',
      type: 'primary',
      title: t('timeline.created'),
      lines: [order.description, t('timeline.payable', { amount: yuan(order.payable_fen) })],
    },
    time(order.created_at),
  )

  order.attempts.forEach((attempt, index) => {
    add(
      {
        key: `attempt-${index}`,
        at: attempt.created_at,
        kind: 'attempt',
        type: 'primary',
        title: t('timeline.attempt', { channel: channel(attempt.channel) }),
        lines: [
          `${t('timeline.scene')}：${labelOf('payScenes', attempt.scene)}` +
            (attempt.is_current ? '' : `（${t('timeline.superseded')}）`),
        ],
      },
      time(attempt.created_at),
    )
  })

  // A channel reports its payment time to the second: never show a payment before it was asked for.
  const firstAttempt = (code: string) =>
    Math.min(...order.attempts.filter((attempt) => attempt.channel === code).map((attempt) => time(attempt.created_at)))
  order.payments.forEach((payment, index) => {
    const applied = payment.disposition === 'applied'
    const asked = firstAttempt(payment.channel)
    add(
      {
        key: `payment-${index}`,
        at: payment.paid_at,
        kind: 'payment',
        type: applied ? 'success' : 'warning',
        title: applied
          ? t('timeline.paid', { amount: yuan(payment.amount_fen), channel: channel(payment.channel) })
          : t('timeline.surplus', { amount: yuan(payment.amount_fen), channel: channel(payment.channel) }),
        lines: [`${t('timeline.transaction')}：${payment.transaction_id}`],
      },
      Number.isFinite(asked) ? Math.max(time(payment.paid_at), asked) : time(payment.paid_at),
    )
  })

  let paymentNotifiedAt = time(order.paid_at)
  order.notifications.forEach((notification, index) => {
    const kindLabel = notification.kind ? labelOf('notificationKinds', notification.kind) : t('timeline.notification')
    const lines = notification.is_verified
      ? [`${t('timeline.verified')} · ${notificationOutcome(notification.outcome)}`]
      : [`${t('timeline.refused')}：${notification.rejection_reason ?? '—'}`]
    if (notification.notification_id) lines.push(`${t('timeline.notificationId')}：${notification.notification_id}`)
    const outcomeType = OUTCOME_TYPES[notification.outcome ?? ''] ?? 'info'
    add(
      {
        key: `notification-${index}`,
        at: notification.received_at,
        kind: 'notification',
        type: notification.is_verified ? outcomeType : 'danger',
        title: t('timeline.received', { channel: channel(notification.channel), kind: kindLabel }),
        lines,
      },
      time(notification.received_at),
    )
    if (notification.outcome === 'paid') paymentNotifiedAt = Math.max(time(notification.received_at), paymentNotifiedAt || 0)
  })

  if (order.his_state === 'written' || order.his_state === 'pending') {
    const written = order.his_state === 'written'
    const writtenAt = written ? order.his_written_at : null
    add(
      {
        key: 'his',
        at: writtenAt,
        kind: 'his',
        type: written ? 'success' : 'warning',
        title: written ? t('timeline.hisWritten') : t('timeline.hisPending'),
        lines: written ? [`${t('timeline.hisReceipt')}：${order.his_receipt_number ?? '—'}`] : [t('timeline.hisPendingHint')],
      },
      // Never before the payment it registers (the HIS keeps its own clock).
      writtenAt ? Math.max(time(writtenAt), paymentNotifiedAt || 0) : paymentNotifiedAt,
    )
  }

  for (const refund of order.refunds) {
    const requester = requesterLabel(refund)
    add(
      {
        key: `refund-${refund.id}`,
        at: refund.created_at,
        kind: 'refund',
        type: 'primary',
        title: t('timeline.refundRequested', { amount: yuan(refund.amount_fen) }),
        lines: [
          `${t('refunds.number')}：${refund.refund_number}`,
          `${t('refunds.reason')}：${refund.reason}`,
          `${t('refunds.requester')}：${requester} · ${
            refund.levels_required ? t('timeline.levelsNeeded', { total: refund.levels_required }) : t('refunds.noApproval')
          }`,
        ],
      },
      time(refund.created_at),
    )
    for (const approval of order.approvals.filter((candidate) => candidate.refund_id === refund.id)) {
      const approved = approval.decision === 'approved'
      const who = staffLabel(approval.approver) ?? t('timeline.someone')
      add(
        {
          key: `approval-${refund.id}-${approval.level}`,
          at: approval.decided_at,
          kind: 'approval',
          type: approved ? 'success' : 'danger',
          title: t(approved ? 'timeline.levelApproved' : 'timeline.levelRejected', {
            level: approval.level,
            total: refund.levels_required,
          }),
          lines: [`${t('timeline.approver')}：${who}`, ...(approval.note ? [`${t('timeline.note')}：${approval.note}`] : [])],
        },
        time(approval.decided_at),
      )
    }
    if (refund.submitted_at) {
      add(
        {
          key: `refund-submitted-${refund.id}`,
          at: refund.submitted_at,
          kind: 'refund_submitted',
          type: 'primary',
          title: t('timeline.refundSubmitted', { number: refund.refund_number }),
          lines: [],
        },
        time(refund.submitted_at),
      )
    }
    if (refund.succeeded_at) {
      add(
        {
          key: `refund-succeeded-${refund.id}`,
          at: refund.succeeded_at,
          kind: 'refund_succeeded',
          type: 'success',
          title: t('timeline.refundSucceeded', { amount: yuan(refund.amount_fen) }),
          lines: [`${t('refunds.number')}：${refund.refund_number}`],
        },
        // The channel's time is to the second; it cannot have refunded before it was asked to.
        refund.submitted_at ? Math.max(time(refund.succeeded_at), time(refund.submitted_at)) : time(refund.succeeded_at),
      )
    } else if (refund.state === 'failed') {
      add(
        {
          key: `refund-failed-${refund.id}`,
          at: null,
          kind: 'refund_failed',
          type: 'danger',
          title: t('timeline.refundFailed', { number: refund.refund_number }),
          lines: refund.last_error ? [refund.last_error] : [],
        },
        time(refund.submitted_at ?? refund.created_at),
      )
    }
  }

  for (const anomaly of order.anomalies) {
    add(
      {
        key: `anomaly-${anomaly.id}`,
        at: anomaly.created_at,
        kind: 'anomaly',
        type: 'danger',
        title: t('timeline.anomaly', { kind: anomaly.kind_label || labelOf('anomalyKinds', anomaly.kind) }),
        lines: describeDetails(anomaly.details).map((line) => `${line.label}：${line.value}`),
      },
      time(anomaly.created_at),
    )
    if (anomaly.state === 'handled') {
      add(
        {
          key: `anomaly-handled-${anomaly.id}`,
          at: anomaly.handled_at,
          kind: 'anomaly_handled',
          type: 'info',
          title: t('timeline.anomalyHandled', { kind: anomaly.kind_label || labelOf('anomalyKinds', anomaly.kind) }),
          lines: [
            ...(anomaly.handled_by ? [`${t('timeline.handledBy')}：${staffLabel(anomaly.handled_by)}`] : []),
            ...(anomaly.note ? [`${t('timeline.note')}：${anomaly.note}`] : []),
          ],
        },
        time(anomaly.handled_at ?? anomaly.created_at),
      )
    }
  }

  if (order.state === 'closed' || order.state === 'cancelled') {
    add(
      {
        key: 'closed',
        at: order.closed_at,
        kind: 'closed',
        type: 'info',
        title: labelOf('orderStates', order.state),
        lines: [],
      },
      order.closed_at
        ? time(order.closed_at)
        : Math.max(time(order.expires_at), ...events.map((event) => event.sortAt).filter((at) => !Number.isNaN(at))),
    )
  }

  return events
    .sort((a, b) => compareTimes(a.sortAt, b.sortAt) || RANK[a.kind] - RANK[b.kind] || a.seq - b.seq)
    .map(({ sortAt: _sortAt, seq: _seq, ...event }) => event)
}

/** Earlier first; an unknown time goes last. */
function compareTimes(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1
  if (Number.isNaN(b)) return -1
  return a - b
}
