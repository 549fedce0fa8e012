import { describe, expect, it } from 'vitest'

import { describeDetails } from '@/views/finance/anomalies'
import { authorityParts, authoritySummary } from '@/views/finance/authority'
import { chainPayload, chainRows, levelsFor } from '@/views/finance/chain'
import {
  emptyOrderFilters,
  noOrderFilters,
  orderFiltersFromRoute,
  orderFiltersProblem,
  orderFiltersToRoute,
  orderQuery,
  refundQuery,
} from '@/views/finance/query'
import { approvalLevelLabel, isOwnRequest, refundableFen, refundButtons, requesterLabel } from '@/views/finance/refunds'
import { statisticsChart, totals } from '@/views/finance/statistics'

import { authority, CLERK, paidOrder, refund } from './finance-fixtures'

describe('approvalLevelLabel', () => {
  it('names the level a refund waits for, out of how many', () => {
    expect(approvalLevelLabel(refund({ levels_required: 2, levels_approved: 0 }))).toBe('第1级/共2级')
    expect(approvalLevelLabel(refund({ levels_required: 2, levels_approved: 1 }))).toBe('第2级/共2级')
    expect(approvalLevelLabel(refund({ levels_required: 1, levels_approved: 0 }))).toBe('第1级/共1级')
  })

  it('adds the name of the role that approves that level when the chain is known', () => {
    const roleOf = (level: number) => (level === 1 ? '财务' : '财务主管')
    expect(approvalLevelLabel(refund({ levels_required: 2, levels_approved: 1 }), roleOf)).toBe('第2级/共2级 · 财务主管')
    expect(approvalLevelLabel(refund({ levels_required: 2, levels_approved: 0 }), () => null)).toBe('第1级/共2级')
  })

  it('says when a refund is through its chain, stopped in it, or needed none', () => {
    expect(approvalLevelLabel(refund({ state: 'approved', levels_required: 2, levels_approved: 2 }))).toBe('已审批（2/2级）')
    expect(approvalLevelLabel(refund({ state: 'succeeded', levels_required: 1, levels_approved: 1 }))).toBe('已审批（1/1级）')
    expect(approvalLevelLabel(refund({ state: 'rejected', levels_required: 2, levels_approved: 1 }))).toBe('第2级驳回（共2级）')
    expect(approvalLevelLabel(refund({ state: 'approved', levels_required: 0, levels_approved: 0, is_automatic: true }))).toBe('无需审批')
  })
})

describe('refundButtons', () => {
  it('offers approve and reject on a waiting refund within the approver’s limit', () => {
    expect(refundButtons(refund({ amount_fen: 1000 }), authority({ approval_limit_fen: 1000 }))).toEqual({ approve: true, reject: true, execute: false })
    expect(refundButtons(refund({ amount_fen: 1001 }), authority({ approval_limit_fen: 1000 }))).toEqual({ approve: false, reject: false, execute: false })
    expect(refundButtons(refund({ amount_fen: 10_000_000 }), authority({ approval_limit_fen: null }))).toMatchObject({ approve: true })
  })

  it('offers execute on an approved or failed refund to those who may execute', () => {
    for (const state of ['approved', 'failed']) {
      expect(refundButtons(refund({ state }), authority())).toEqual({ approve: false, reject: false, execute: true })
      expect(refundButtons(refund({ state }), authority({ may_execute: false })).execute).toBe(false)
    }
  })

  it('offers nothing on the user’s own request', () => {
    const mine = refund({ requested_by: { kind: 'staff', id: CLERK, name: '孙悦', staff_number: 'F1001' } })
    const none = { approve: false, reject: false, execute: false }
    expect(isOwnRequest(mine, authority())).toBe(true)
    expect(refundButtons(mine, authority())).toEqual(none)
    expect(refundButtons({ ...mine, state: 'approved' }, authority())).toEqual(none)
    // A patient's request, or a colleague's, is someone else's.
    expect(isOwnRequest(refund(), authority())).toBe(false)
    const patients = refund({ requested_by: { kind: 'patient', id: CLERK, name: '139****0001', staff_number: null } })
    expect(refundButtons(patients, authority())).toMatchObject({ approve: true })
  })

  it('names who asked', () => {
    expect(requesterLabel(refund())).toBe('朱浩（F1002）')
    expect(requesterLabel(refund({ requested_by: { kind: 'patient', id: 'a', name: '139****0001', staff_number: null } }))).toBe(
      '患者 139****0001',
    )
    expect(requesterLabel(refund({ is_automatic: true, requested_by: { kind: 'system', id: null, name: '系统', staff_number: null } }))).toBe(
      '系统（自动退款）',
    )
  })

  it('offers nothing without an authority, or once a refund is under way or done', () => {
    const none = { approve: false, reject: false, execute: false }
    expect(refundButtons(refund(), null)).toEqual(none)
    expect(refundButtons(refund(), authority({ may_approve: false, may_execute: false }))).toEqual(none)
    for (const state of ['executing', 'succeeded', 'rejected', 'cancelled']) expect(refundButtons(refund({ state }), authority())).toEqual(none)
  })
})

describe('refundableFen', () => {
  it('is what was paid less the refunds that hold part of it', () => {
    expect(refundableFen(paidOrder())).toBe(2500)
    const refunds = [
      refund({ amount_fen: 500, state: 'pending_approval' }),
      refund({ amount_fen: 700, state: 'approved' }),
      refund({ amount_fen: 300, state: 'rejected' }),
      refund({ amount_fen: 200, state: 'failed' }),
      refund({ amount_fen: 100, state: 'executing' }),
    ]
    expect(refundableFen(paidOrder({ state: 'paid', refunds }))).toBe(3500 - 500 - 700 - 100)
  })

  it('leaves out automatic refunds of a second payment', () => {
    const surplus = refund({ id: 'r2', amount_fen: 3500, is_automatic: true, state: 'succeeded' })
    const anomaly = {
      id: 'a',
      kind: 'paid_twice',
      kind_label: '重复支付',
      order_id: 'o',
      refund_id: 'r2',
      details: {},
      state: 'open',
      note: null,
      created_at: '2026-11-27T06:33:00Z',
      handled_at: null,
      handled_by: null,
    }
    expect(refundableFen(paidOrder({ state: 'paid', refunds: [surplus], anomalies: [anomaly] }))).toBe(3500)
    // An automatic refund of the order's own payment (a cancelled service) does count.
    expect(refundableFen(paidOrder({ state: 'paid', refunds: [surplus], anomalies: [] }))).toBe(0)
  })

  it('is nothing for an order that is not paid', () => {
    expect(refundableFen(paidOrder({ state: 'created', refunds: [] }))).toBe(0)
    expect(refundableFen(paidOrder({ state: 'refunded', refunds: [refund({ amount_fen: 3500, state: 'succeeded' })] }))).toBe(0)
  })
})

describe('authority in words', () => {
  it('lists what a grant allows', () => {
    expect(authorityParts(authority())).toBe('申请 · 审批（¥1,000.00 以内） · 执行')
    expect(authorityParts(authority({ may_request: false, approval_limit_fen: null, may_execute: false }))).toBe('审批（不限额）')
    expect(authorityParts(authority({ may_request: false, may_approve: false, may_execute: false }))).toBe('无')
    expect(authorityParts(null)).toBe('无')
  })

  it('tells the user what they may do', () => {
    expect(authoritySummary(authority({ may_approve: false, may_execute: false }))).toBe('您的退款权限：申请')
    expect(authoritySummary(null)).toContain('您没有退款权限')
  })
})

describe('the approval chain form', () => {
  const demo = [
    { level: 2, min_amount_fen: 50_000, role_code: 'finance_supervisor' },
    { level: 1, min_amount_fen: 0, role_code: 'finance' },
  ]

  it('edits the chain in level order, amounts in yuan', () => {
    expect(chainRows(demo)).toEqual([
      { minAmount: '0.00', roleCode: 'finance' },
      { minAmount: '500.00', roleCode: 'finance_supervisor' },
    ])
  })

  it('sends levels numbered from 1, amounts in fen', () => {
    expect(chainPayload([{ minAmount: '0', roleCode: 'finance' }, { minAmount: '500.5', roleCode: 'finance_supervisor' }])).toEqual({
      levels: [
        { level: 1, min_amount_fen: 0, role_code: 'finance' },
        { level: 2, min_amount_fen: 50_050, role_code: 'finance_supervisor' },
      ],
    })
    expect(chainPayload([])).toEqual({ levels: [] })
  })

  it('names the first row that is wrong, and leaves the chain as a whole to the server', () => {
    expect(chainPayload([{ minAmount: '0', roleCode: 'finance' }, { minAmount: '5.555', roleCode: 'finance' }])).toEqual({
      row: 1,
      problem: { key: 'money.format' },
    })
    expect(chainPayload([{ minAmount: '', roleCode: 'finance' }])).toEqual({ row: 0, problem: { key: 'money.required' } })
    expect(chainPayload([{ minAmount: '1', roleCode: '' }])).toEqual({ row: 0, problem: { key: 'financeSettings.roleRequired' } })
    // Decreasing minimums are the server's to refuse (invalid_approval_chain).
    expect(chainPayload([{ minAmount: '600', roleCode: 'finance' }, { minAmount: '500', roleCode: 'finance' }])).toHaveProperty('levels')
  })

  it('counts the levels a refund needs', () => {
    expect(levelsFor(demo, 1000)).toBe(1)
    expect(levelsFor(demo, 49_999)).toBe(1)
    expect(levelsFor(demo, 50_000)).toBe(2)
    expect(levelsFor(demo, 60_000)).toBe(2)
    expect(levelsFor([], 60_000)).toBe(0)
  })
})

describe('the order search', () => {
  it('keeps the filters in the address and reads them back', () => {
    const filters = { ...emptyOrderFilters(), orderNumber: ' P123 ', state: 'paid', minAmount: '10', since: '2026-11-01T00:00:00.000Z' }
    const query = orderFiltersToRoute(filters, 3)
    expect(query).toEqual({ number: 'P123', state: 'paid', min: '10', since: '2026-11-01T00:00:00.000Z', page: '3' })
    expect(orderFiltersFromRoute(query as Record<string, string>)).toEqual({ ...filters, orderNumber: 'P123' })
    expect(orderFiltersToRoute(emptyOrderFilters())).toEqual({})
    expect(orderFiltersFromRoute({ number: ['A', 'B'], bogus: 'x' })).toEqual({ ...emptyOrderFilters(), orderNumber: 'A' })
  })

  it('asks the API in fen and leaves out what is not set', () => {
    const filters = { ...emptyOrderFilters(), patient: '张伟', minAmount: '4.35', maxAmount: '1,000', channel: 'wechat' }
    expect(orderQuery(filters, 2, 20)).toEqual({
      order_number: undefined,
      patient: '张伟',
      card_number: undefined,
      channel: 'wechat',
      state: undefined,
      business_kind: undefined,
      min_amount_fen: 435,
      max_amount_fen: 100_000,
      since: undefined,
      until: undefined,
      page: 2,
      page_size: 20,
    })
  })

  it('refuses amounts that are not amounts, or a range upside down', () => {
    expect(orderFiltersProblem({ ...emptyOrderFilters(), minAmount: 'abc' })).toEqual({ field: 'minAmount', problem: { key: 'money.format' } })
    expect(orderFiltersProblem({ ...emptyOrderFilters(), minAmount: '20', maxAmount: '10' })).toEqual({
      field: 'maxAmount',
      problem: { key: 'finance.amountRangeProblem' },
    })
    expect(orderFiltersProblem({ ...emptyOrderFilters(), minAmount: '10', maxAmount: '10' })).toBeNull()
  })

  it('knows an empty search', () => {
    expect(noOrderFilters(emptyOrderFilters())).toBe(true)
    expect(noOrderFilters({ ...emptyOrderFilters(), patient: ' ' })).toBe(true)
    expect(noOrderFilters({ ...emptyOrderFilters(), patient: '张伟' })).toBe(false)
  })

  it('sends the refund search as the API takes it', () => {
    const since = new Date('2026-11-01T00:00:00Z')
    const until = new Date('2026-11-30T00:00:00Z')
    expect(refundQuery({ refundNumber: ' R1 ', state: 'failed', channel: '', range: [since, until] }, 1, 20)).toEqual({
      refund_number: 'R1',
      state: 'failed',
      channel: undefined,
      since: '2026-11-01T00:00:00.000Z',
      until: '2026-11-30T00:00:00.000Z',
      page: 1,
      page_size: 20,
    })
  })
})

describe('refund statistics', () => {
  const rows = [
    { channel: 'alipay', state: 'succeeded', count: 1, amount_fen: 435 },
    { channel: 'wechat', state: 'pending_approval', count: 2, amount_fen: 3000 },
    { channel: 'wechat', state: 'succeeded', count: 3, amount_fen: 12_345 },
  ]

  it('adds up counts and amounts in fen', () => {
    expect(totals(rows)).toEqual({ count: 6, amountFen: 15_780 })
    expect(totals([])).toEqual({ count: 0, amountFen: 0 })
  })

  it('draws one stacked bar per channel, one series per state, in fen', () => {
    const option = statisticsChart(rows, (code) => ({ wechat: '微信支付', alipay: '支付宝' })[code] ?? code) as {
      xAxis: { data: string[] }
      series: { name: string; stack: string; data: number[] }[]
      yAxis: { axisLabel: { formatter: (value: number) => string } }
      tooltip: { valueFormatter: (value: unknown) => string }
    }
    expect(option.xAxis.data).toEqual(['支付宝', '微信支付'])
    expect(option.series.map((series) => [series.name, series.stack, series.data])).toEqual([
      ['已退款', 'amount', [435, 12_345]],
      ['待审批', 'amount', [0, 3000]],
    ])
    expect(option.yAxis.axisLabel.formatter(12_345)).toBe('¥123.45')
    expect(option.tooltip.valueFormatter(435)).toBe('¥4.35')
  })
})

describe('anomaly details', () => {
  it('words the details, amounts in yuan, unknown keys as they are', () => {
    expect(describeDetails({ expected_fen: 3500, paid_fen: 3400, channel: 'wechat', extra: { a: 1 }, note: null })).toEqual([
      { label: '应付金额', value: '¥35.00' },
      { label: '实收金额', value: '¥34.00' },
      { label: '支付渠道', value: '微信支付' },
      { label: 'extra', value: '{"a":1}' },
      { label: 'note', value: '—' },
    ])
    expect(describeDetails(null)).toEqual([])
  })
})
