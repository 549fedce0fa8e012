import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'

import { setToken } from '@/auth/token'
import { i18n } from '@/i18n'
import { useSessionStore } from '@/stores/session'
import OrderDetailView from '@/views/finance/OrderDetailView.vue'

import { authority, CLERK, ORDER_NUMBER, paidOrder, refund } from './finance-fixtures'
import { fakeServer, json, me } from './helpers'

const DETAIL = `GET /api/v1/finance/orders/${ORDER_NUMBER}`
const paidOnly = () =>
  paidOrder({ state: 'paid', refunded_fen: 0, refunds: [], approvals: [], notifications: paidOrder().notifications.slice(0, 2) })

function server(mine: ReturnType<typeof authority>, extra: Parameters<typeof fakeServer>[0] = {}) {
  return fakeServer({
    [DETAIL]: () => json(200, paidOnly()),
    'GET /api/v1/finance/refund-authorities/mine': () => json(200, mine),
    'GET /api/v1/finance/payment-channels': () => json(200, [{ channel: 'wechat', display_name: '微信支付', is_enabled: true, sort_order: 0 }]),
    'GET /api/v1/finance/refund-approval-levels': () =>
      json(200, [{ level: 1, min_amount_fen: 0, role_code: 'finance', role_name: '财务' }]),
    ...extra,
  })
}

async function mountDetail() {
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/finance/orders/:orderNumber', name: 'finance-order', component: OrderDetailView, props: true },
      { path: '/finance/orders', name: 'finance-orders', component: { template: '<div />' } },
      { path: '/finance/anomalies', name: 'finance-anomalies', component: { template: '<div />' } },
    ],
  })
  await router.push(`/finance/orders/${ORDER_NUMBER}`)
  const wrapper = mount(OrderDetailView, {
    props: { orderNumber: ORDER_NUMBER },
    global: { plugins: [i18n, router] },
    attachTo: document.body,
  })
  await flushPromises()
  return wrapper
}

function button(label: string, scope: ParentNode = document): HTMLButtonElement | undefined {
  return [...scope.querySelectorAll<HTMLButtonElement>('button')].find((b) => b.textContent?.trim() === label)
}

function type(selector: string, value: string) {
  const field = document.querySelector<HTMLInputElement | HTMLTextAreaElement>(selector)!
  field.value = value
  field.dispatchEvent(new Event('input'))
}

describe('OrderDetailView', () => {
  beforeEach(() => {
    localStorage.clear()
    document.body.innerHTML = ''
    setToken('t')
    setActivePinia(createPinia())
    useSessionStore().me = me({ id: CLERK, roles: ['finance'], permissions: ['finance.read', 'anomaly.handle'] }) as never
  })

  it('shows the amounts in yuan and the timeline with the notification and the HIS receipt', async () => {
    server(authority())
    const wrapper = await mountDetail()

    const text = document.body.textContent!
    expect(document.querySelector('[data-test="paid-amount"]')!.textContent).toBe('¥35.00')
    expect(document.querySelector('[data-test="refundable-amount"]')!.textContent).toBe('¥35.00')
    expect(document.querySelector('[data-test="his-receipt"]')!.textContent).toBe('SF20261127000123')
    expect(document.querySelector('[data-test="his-written-at"]')!.textContent).toContain('2026')
    expect(text).toContain('收到支付通知（微信支付）')
    expect(text).toContain('验签通过 · 已入账')
    expect(text).toContain('HIS 已登记收费')
    expect(text).toContain('血常规')
    wrapper.unmount()
  })

  it('asks the server for the refund in fen, never more than is left', async () => {
    const created = { ...paidOrder().refunds[0], state: 'pending_approval', succeeded_at: null, submitted_at: null, levels_approved: 0 }
    const api = server(authority(), { [`POST /api/v1/finance/orders/${ORDER_NUMBER}/refunds`]: () => json(201, created) })
    const wrapper = await mountDetail()

    button('申请退款')!.click()
    await flushPromises()
    type('[data-test="refund-form"] input', '35.01')
    type('[data-test="refund-form"] textarea', '检查取消')
    button('提交申请')!.click()
    await vi.waitFor(() => expect(document.body.textContent).toContain('金额不能超过 ¥35.00'))
    expect(api.requests.filter((request) => request.method === 'POST')).toHaveLength(0)

    type('[data-test="refund-form"] input', '19.99')
    button('提交申请')!.click()
    await vi.waitFor(() => expect(api.requests.some((request) => request.method === 'POST')).toBe(true))
    const sent = api.requests.find((request) => request.method === 'POST')!
    expect(await sent.json()).toEqual({ amount_fen: 1999, reason: '检查取消' })
    wrapper.unmount()
  })

  it('offers no refund to someone without request authority', async () => {
    server(authority({ may_request: false, may_approve: false, may_execute: false }))
    const wrapper = await mountDetail()

    expect(document.querySelector('[data-test="order-timeline"]')).not.toBeNull()
    expect(button('申请退款')).toBeUndefined()
    wrapper.unmount()
  })
})

describe('OrderDetailView and who asked', () => {
  beforeEach(() => {
    localStorage.clear()
    document.body.innerHTML = ''
    setToken('t')
    setActivePinia(createPinia())
    useSessionStore().me = me({ id: CLERK, roles: ['finance'], permissions: ['finance.read', 'anomaly.handle'] }) as never
  })

  it('offers no approval of one’s own request, and names the requester and the approver', async () => {
    const own = refund({ requested_by: { kind: 'staff', id: CLERK, name: '孙悦', staff_number: 'F1001' } })
    fakeServer({
      [DETAIL]: () => json(200, paidOrder({ state: 'paid', refunded_fen: 0, refunds: [own] })),
      'GET /api/v1/finance/refund-authorities/mine': () => json(200, authority()),
      'GET /api/v1/finance/payment-channels': () => json(200, []),
      'GET /api/v1/finance/refund-approval-levels': () => json(200, []),
    })
    const wrapper = await mountDetail()

    const refunds = document.querySelector('[data-test="order-refunds"]')!
    expect(refunds.querySelector('[data-test="refund-approve"]')).toBeNull()
    expect(refunds.querySelector('[data-test="refund-own"]')!.textContent).toBe('本人申请，须由他人审批')
    expect(refunds.querySelector('[data-test="refund-requester"]')!.textContent).toBe('申请人：孙悦（F1001）')
    expect(document.querySelector('[data-test="order-timeline"]')!.textContent).toContain('审批人：秦磊（F2001）')
    wrapper.unmount()
  })

  it('shows why a refund was rejected', async () => {
    const rejected = refund({ state: 'rejected', rejection_note: '检查已完成' })
    fakeServer({
      [DETAIL]: () => json(200, paidOrder({ state: 'paid', refunded_fen: 0, refunds: [rejected], approvals: [] })),
      'GET /api/v1/finance/refund-authorities/mine': () => json(200, authority()),
      'GET /api/v1/finance/payment-channels': () => json(200, []),
      'GET /api/v1/finance/refund-approval-levels': () => json(200, []),
    })
    const wrapper = await mountDetail()

    expect(document.querySelector('[data-test="refund-rejection-note"]')!.textContent).toBe('驳回原因：检查已完成')
    wrapper.unmount()
  })
})
