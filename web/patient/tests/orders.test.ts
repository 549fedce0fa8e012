import { describe, expect, it } from 'vitest'

import { t } from '@/locale'
import {
  channelKey,
  channelsFor,
  HISTORY_TABS,
  historyState,
  nextDetailRefresh,
  nextPaymentCheck,
  orderStateKey,
  refundableFen,
  refundStateKey,
  sceneFor,
  type Channel,
} from '@/utils/orders'

const ENABLED: Channel[] = [
  { channel: 'insurance', display_name: '医保移动支付', is_enabled: true, sort_order: 3 },
  { channel: 'wechat', display_name: '微信支付', is_enabled: true, sort_order: 0 },
  { channel: 'unionpay', display_name: '银联云闪付', is_enabled: true, sort_order: 2 },
  { channel: 'alipay', display_name: '支付宝', is_enabled: true, sort_order: 1 },
]

const names = (channels: Channel[]) => channels.map((channel) => channel.channel)

describe('channelsFor', () => {
  it('offers every enabled channel on H5, in the hospital’s order', () => {
    expect(names(channelsFor('h5', ENABLED))).toEqual(['wechat', 'alipay', 'unionpay', 'insurance'])
  })

  it('offers WeChat Pay and insurance in the WeChat mini-program', () => {
    expect(names(channelsFor('mp-weixin', ENABLED))).toEqual(['wechat', 'insurance'])
  })

  it('offers Alipay and insurance in the Alipay mini-program', () => {
    expect(names(channelsFor('mp-alipay', ENABLED))).toEqual(['alipay', 'insurance'])
  })

  it('leaves out a channel the hospital switched off', () => {
    const off = ENABLED.map((channel) => (channel.channel === 'wechat' ? { ...channel, is_enabled: false } : channel))
    expect(names(channelsFor('mp-weixin', off))).toEqual(['insurance'])
  })
})

describe('sceneFor', () => {
  it('uses the mini-program payment for the mini-program’s own channel', () => {
    expect(sceneFor('mp-weixin', 'wechat')).toBe('mini_program')
    expect(sceneFor('mp-alipay', 'alipay')).toBe('mini_program')
  })

  it('uses a web page for H5 and for the insurance everywhere', () => {
    expect(sceneFor('h5', 'wechat')).toBe('h5')
    expect(sceneFor('h5', 'unionpay')).toBe('h5')
    expect(sceneFor('mp-weixin', 'insurance')).toBe('h5')
    expect(sceneFor('mp-alipay', 'insurance')).toBe('h5')
  })
})

describe('labels', () => {
  it.each([
    ['created', '待支付'],
    ['paying', '待支付'],
    ['paid', '已支付'],
    ['partially_refunded', '部分退款'],
    ['refunded', '已退款'],
    ['closed', '已关闭'],
    ['cancelled', '已关闭'],
    ['something_new', '处理中'],
  ])('an order %s reads %s', (state, label) => {
    expect(t(orderStateKey(state))).toBe(label)
  })

  it.each([
    ['pending_approval', '审核中'],
    ['approved', '审核通过，待退款'],
    ['executing', '退款中'],
    ['succeeded', '已退款'],
    ['rejected', '未通过审核'],
    ['failed', '退款遇到问题，医院正在处理'],
    ['something_new', '处理中'],
  ])('a refund %s reads %s', (state, label) => {
    expect(t(refundStateKey(state))).toBe(label)
  })

  it('names every channel', () => {
    expect(['wechat', 'alipay', 'unionpay', 'insurance', null, 'x'].map((channel) => t(channelKey(channel)))).toEqual([
      '微信支付',
      '支付宝',
      '银联云闪付',
      '医保移动支付',
      '其他',
      '其他',
    ])
  })
})

describe('refundableFen', () => {
  const paid = { state: 'paid', paid_fen: 3500 }

  it('is everything paid when nothing was asked back', () => {
    expect(refundableFen(paid, [])).toBe(3500)
  })

  it('takes away refunds on their way and done, not those refused', () => {
    const refunds = [
      { state: 'succeeded', amount_fen: 1000 },
      { state: 'pending_approval', amount_fen: 500 },
      { state: 'rejected', amount_fen: 2000 },
      { state: 'failed', amount_fen: 2000 },
    ]
    expect(refundableFen({ state: 'partially_refunded', paid_fen: 3500 }, refunds)).toBe(2000)
  })

  it('is nothing for an unpaid order or one refunded in full', () => {
    expect(refundableFen({ state: 'paying', paid_fen: 0 }, [])).toBe(0)
    expect(refundableFen({ state: 'refunded', paid_fen: 3500 }, [{ state: 'succeeded', amount_fen: 3500 }])).toBe(0)
  })
})

describe('when to ask again', () => {
  it('keeps asking about a payment until the order is no longer payable', () => {
    expect(nextPaymentCheck({ state: 'paying' }, 1)).toBeGreaterThan(0)
    expect(nextPaymentCheck({ state: 'created' }, 1)).toBeGreaterThan(0)
    expect(nextPaymentCheck({ state: 'paid' }, 1)).toBeNull()
    expect(nextPaymentCheck({ state: 'closed' }, 1)).toBeNull()
  })

  it('refreshes the detail page while a payment, the HIS write-back or a refund is on its way', () => {
    expect(nextDetailRefresh({ state: 'paying', his_state: 'none' }, [], 1)).toBe(1000)
    expect(nextDetailRefresh({ state: 'paid', his_state: 'pending' }, [], 1)).toBe(1000)
    expect(nextDetailRefresh({ state: 'paid', his_state: 'written' }, [{ state: 'executing' }], 1)).toBe(3000)
    expect(nextDetailRefresh({ state: 'paid', his_state: 'written' }, [{ state: 'pending_approval' }], 1)).toBe(10_000)
  })

  it('stops when nothing is on its way', () => {
    expect(nextDetailRefresh({ state: 'paid', his_state: 'written' }, [], 1)).toBeNull()
    expect(nextDetailRefresh({ state: 'created', his_state: 'none' }, [], 1)).toBeNull()
    expect(nextDetailRefresh({ state: 'refunded', his_state: 'written' }, [{ state: 'succeeded' }], 1)).toBeNull()
    expect(nextDetailRefresh({ state: 'closed', his_state: 'none' }, [], 1)).toBeNull()
  })
})

describe('the spending history tabs', () => {
  it('cover every order state once, and 全部 reads them all', () => {
    const states = HISTORY_TABS.flatMap((tab) => tab.states)
    expect(new Set(states).size).toBe(states.length)
    expect(states.sort()).toEqual(['cancelled', 'closed', 'created', 'paid', 'partially_refunded', 'paying', 'refunded'])
    expect(HISTORY_TABS[0]).toMatchObject({ key: 'all', states: [] })
  })

  it('asks the server for all the states of a tab at once', () => {
    expect(historyState('all')).toBeUndefined()
    expect(historyState('unpaid')).toBe('created,paying')
    expect(historyState('refunded')).toBe('partially_refunded,refunded')
    expect(historyState('paid')).toBe('paid')
    expect(historyState('unknown')).toBeUndefined()
  })
})
