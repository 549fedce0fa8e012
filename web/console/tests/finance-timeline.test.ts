import { describe, expect, it } from 'vitest'

import { buildTimeline, notificationOutcome } from '@/views/finance/timeline'

import { APPROVER, paidOrder, refund } from './finance-fixtures'

const kinds = (events: { kind: string }[]) => events.map((event) => event.kind)

describe('buildTimeline', () => {
  it('tells a paid and partly refunded order in the order things happened', () => {
    const events = buildTimeline(paidOrder())

    expect(kinds(events)).toEqual([
      'created',
      'attempt',
      'notification', // the refused one, before the channel's payment time
      'payment',
      'notification',
      'his',
      'refund',
      'approval',
      'refund_submitted',
      'refund_succeeded',
      'notification',
    ])
  })

  it('says what each notification was and what came of it', () => {
    const notifications = buildTimeline(paidOrder()).filter((event) => event.kind === 'notification')

    expect(notifications[0]).toMatchObject({ title: '收到通知（微信支付）', type: 'danger' })
    expect(notifications[0]!.lines[0]).toBe('验签失败，已拒收：bad signature')
    expect(notifications[1]).toMatchObject({ title: '收到支付通知（微信支付）', type: 'success' })
    expect(notifications[1]!.lines).toEqual(['验签通过 · 已入账', '通知编号：EV-1'])
    expect(notifications[2]).toMatchObject({ title: '收到退款通知（微信支付）', type: 'success' })
    expect(notifications[2]!.lines[0]).toBe('验签通过 · 退款成功')
  })

  it('uses the channel names it is given', () => {
    const events = buildTimeline(paidOrder(), { channel: (code) => (code === 'wechat' ? '微信' : code) })
    expect(events.find((event) => event.kind === 'attempt')!.title).toBe('发起支付：微信')
    expect(events.find((event) => event.kind === 'payment')!.title).toBe('支付成功 ¥35.00（微信）')
  })

  it('shows when the HIS registered the charge, with its receipt number', () => {
    const events = buildTimeline(paidOrder())
    const his = events.find((event) => event.kind === 'his')!

    expect(his).toMatchObject({
      at: '2026-11-27T06:31:05Z',
      type: 'success',
      title: 'HIS 已登记收费',
      lines: ['HIS 收据号：SF20261127000123'],
    })
    expect(events[events.indexOf(his) - 1]!.lines[0]).toBe('验签通过 · 已入账')
  })

  it('puts a registration without its time right after the payment notification', () => {
    const events = buildTimeline(paidOrder({ his_written_at: null }))
    const his = events.find((event) => event.kind === 'his')!

    expect(his.at).toBeNull()
    expect(events[events.indexOf(his) - 1]!.lines[0]).toBe('验签通过 · 已入账')
  })

  it('never shows the registration before the payment it registers', () => {
    const events = buildTimeline(paidOrder({ his_written_at: '2026-11-27T06:31:01Z' }))
    expect(events[events.findIndex((event) => event.kind === 'his') - 1]!.lines[0]).toBe('验签通过 · 已入账')
  })

  it('shows a write-back still waiting for the HIS', () => {
    const his = buildTimeline(paidOrder({ his_state: 'pending', his_receipt_number: null })).find((event) => event.kind === 'his')!
    expect(his).toMatchObject({ type: 'warning', title: '等待 HIS 登记收费' })
  })

  it('leaves the HIS out of an order never sent to it', () => {
    const unpaid = paidOrder({ state: 'created', his_state: 'none', payments: [], notifications: [], refunds: [], approvals: [], paid_at: null })
    expect(kinds(buildTimeline(unpaid))).toEqual(['created', 'attempt'])
  })

  it('names each approval level and the approver, as the server names them', () => {
    const approval = buildTimeline(paidOrder()).find((event) => event.kind === 'approval')!

    expect(approval).toMatchObject({ title: '第1级/共1级 审批通过', type: 'success' })
    expect(approval.lines).toEqual(['审批人：秦磊（F2001）', '意见：同意'])
  })

  it('names who asked for a refund', () => {
    const asked = buildTimeline(paidOrder()).find((event) => event.kind === 'refund')!
    expect(asked.lines[2]).toBe('申请人：朱浩（F1002） · 需 1 级审批')
    const byPatient = buildTimeline(
      paidOrder({ refunds: [refund({ requested_by: { kind: 'patient', id: 'acc', name: '139****0001', staff_number: null } })] }),
    ).find((event) => event.kind === 'refund')!
    expect(byPatient.lines[2]).toContain('申请人：患者 139****0001')
  })

  it('marks a rejection in red with its note', () => {
    const order = paidOrder({
      state: 'paid',
      refunds: [refund({ state: 'rejected', levels_required: 2, levels_approved: 1 })],
      approvals: [
        {
          refund_id: refund().id,
          level: 1,
          approver_id: APPROVER,
          approver: { id: APPROVER, name: '秦磊', staff_number: 'F2001' },
          decision: 'approved',
          note: null,
          decided_at: '2026-11-27T06:45:00Z',
        },
        {
          refund_id: refund().id,
          level: 2,
          approver_id: 'x',
          approver: { id: 'x', name: '周敏', staff_number: 'F3001' },
          decision: 'rejected',
          note: '金额有误',
          decided_at: '2026-11-27T06:46:00Z',
        },
      ],
    })
    const approvals = buildTimeline(order).filter((event) => event.kind === 'approval')

    expect(approvals.map((event) => event.title)).toEqual(['第1级/共2级 审批通过', '第2级/共2级 审批驳回'])
    expect(approvals[1]).toMatchObject({ type: 'danger', lines: ['审批人：周敏（F3001）', '意见：金额有误'] })
  })

  it('shows a refused refund after it was sent, with the channel’s reason', () => {
    const order = paidOrder({
      refunds: [refund({ state: 'failed', levels_approved: 1, submitted_at: '2026-11-27T06:50:00Z', last_error: 'NOTENOUGH: 余额不足' })],
      notifications: [],
    })
    const events = buildTimeline(order)

    expect(kinds(events).slice(-2)).toEqual(['refund_submitted', 'refund_failed'])
    expect(events.at(-1)).toMatchObject({ at: null, type: 'danger', lines: ['NOTENOUGH: 余额不足'] })
  })

  it('flags anomalies in red and shows how they were handled', () => {
    const order = paidOrder({
      anomalies: [
        {
          id: 'a1',
          kind: 'amount_mismatch',
          kind_label: '支付金额与订单不符',
          order_id: 'o',
          order_number: 'P1',
          refund_id: null,
          details: { expected_fen: 3500, paid_fen: 3400 },
          state: 'handled',
          note: '已与渠道核对',
          created_at: '2026-11-27T06:31:03Z',
          handled_at: '2026-11-27T08:00:00Z',
          handled_by: { id: APPROVER, name: '秦磊', staff_number: 'F2001' },
        },
      ],
    })
    const events = buildTimeline(order)
    const anomaly = events.find((event) => event.kind === 'anomaly')!

    expect(anomaly).toMatchObject({ type: 'danger', title: '异常：支付金额与订单不符', lines: ['应付金额：¥35.00', '实收金额：¥34.00'] })
    expect(events.at(-1)).toMatchObject({ kind: 'anomaly_handled', lines: ['处理人：秦磊（F2001）', '意见：已与渠道核对'] })
  })

  it('ends a closed order with its closing, at the time it closed', () => {
    const closed = paidOrder({ state: 'closed', his_state: 'none', payments: [], notifications: [], refunds: [], approvals: [], paid_at: null })
    expect(buildTimeline({ ...closed, closed_at: '2026-11-27T06:45:30Z' }).at(-1)).toMatchObject({
      kind: 'closed',
      title: '已关闭',
      at: '2026-11-27T06:45:30Z',
    })
    // An order cancelled with its business has no closing time of its own.
    expect(buildTimeline({ ...closed, state: 'cancelled' }).at(-1)).toMatchObject({ kind: 'closed', at: null })
  })

  it('shows a second payment as surplus to be returned', () => {
    const order = paidOrder({
      payments: [
        ...paidOrder().payments,
        { channel: 'alipay', transaction_id: '2026T2', amount_fen: 3500, paid_at: '2026-11-27T06:33:00Z', disposition: 'surplus', refunded_fen: 0 },
      ],
    })
    const surplus = buildTimeline(order).filter((event) => event.kind === 'payment')[1]!
    expect(surplus).toMatchObject({ type: 'warning', title: '多收款 ¥35.00（支付宝），将自动退回' })
  })
})

describe('notificationOutcome', () => {
  it('words what the server made of a notification', () => {
    expect(notificationOutcome('paid')).toBe('已入账')
    expect(notificationOutcome('paid_twice')).toBe('重复支付，已自动退款')
    expect(notificationOutcome('ignored:NOTPAY')).toBe('已忽略（渠道状态 NOTPAY）')
    expect(notificationOutcome('something_new')).toBe('something_new')
    expect(notificationOutcome(null)).toBe('—')
  })
})

describe('buildTimeline with a channel that reports time to the second', () => {
  it('never shows the payment before the prepay that asked for it', () => {
    const order = paidOrder({
      attempts: [{ channel: 'wechat', scene: 'h5', created_at: '2026-11-27T06:31:00.600Z', is_current: true }],
      payments: [{ ...paidOrder().payments[0]!, paid_at: '2026-11-27T06:31:00Z' }],
      notifications: [{ ...paidOrder().notifications[1]!, received_at: '2026-11-27T06:31:00.900Z' }],
      refunds: [],
      approvals: [],
    })
    expect(kinds(buildTimeline(order))).toEqual(['created', 'attempt', 'payment', 'notification', 'his'])
  })
})

describe('buildTimeline with a refund confirmed within the second', () => {
  it('shows the refund sent before it succeeded', () => {
    const order = paidOrder({
      refunds: [refund({ state: 'succeeded', levels_approved: 1, submitted_at: '2026-11-27T06:50:00.700Z', succeeded_at: '2026-11-27T06:50:00Z' })],
      notifications: [],
    })
    expect(kinds(buildTimeline(order)).slice(-2)).toEqual(['refund_submitted', 'refund_succeeded'])
  })
})
