/** 退款统计: the server's rows (channel × state: count, amount) as totals and as a bar chart. */
import type { Schema } from '@/api/types'
import type { ChartOption } from '@/components/echarts'
import { labelOf } from '@/utils/labels'
import { formatYuan } from '@/utils/money'

export type RefundStatistic = Schema<'RefundStatistic'>

export interface StatisticsTotals {
  count: number
  amountFen: number
}

export function totals(rows: readonly RefundStatistic[]): StatisticsTotals {
  return rows.reduce((sum, row) => ({ count: sum.count + row.count, amountFen: sum.amountFen + row.amount_fen }), {
    count: 0,
    amountFen: 0,
  })
}

const STATE_COLOURS: Record<string, string> = {
  succeeded: '#67c23a',
  pending_approval: '#e6a23c',
  approved: '#409eff',
  executing: '#79bbff',
  failed: '#f56c6c',
  rejected: '#909399',
  cancelled: '#c8c9cc',
}

/**
 * Refunded amounts per channel, one stacked bar per channel and one colour per state. Values stay in fen
 * (integers) and only the labels turn them into yuan, so the chart never rounds money.
 */
export function statisticsChart(rows: readonly RefundStatistic[], channelName: (code: string) => string): ChartOption {
  const channels = [...new Set(rows.map((row) => row.channel))]
  const states = [...new Set(rows.map((row) => row.state))]
  return {
    tooltip: {
      trigger: 'axis',
      axisPointer: { type: 'shadow' },
      valueFormatter: (value: unknown) => (typeof value === 'number' ? `¥${formatYuan(value)}` : '—'),
    },
    legend: { top: 0 },
    grid: { left: 8, right: 16, bottom: 8, top: 40, containLabel: true },
    xAxis: { type: 'category', data: channels.map(channelName) },
    yAxis: { type: 'value', axisLabel: { formatter: (value: number) => `¥${formatYuan(value)}` } },
    series: states.map((state) => ({
      name: labelOf('refundStates', state),
      type: 'bar',
      stack: 'amount',
      barMaxWidth: 48,
      itemStyle: { color: STATE_COLOURS[state] },
      data: channels.map((channel) => rows.find((row) => row.channel === channel && row.state === state)?.amount_fen ?? 0),
    })),
  }
}
