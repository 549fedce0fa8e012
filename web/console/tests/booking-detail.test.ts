import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'

import { setToken } from '@/auth/token'
import { i18n } from '@/i18n'
import { useSessionStore } from '@/stores/session'
import BookingDetailDrawer from '@/views/booking/BookingDetailDrawer.vue'

import { fakeServer, json, me } from './helpers'

const BOOKING_ID = '77777777-7777-7777-7777-777777777777'

function detail(overrides: Record<string, unknown> = {}) {
  return {
    id: BOOKING_ID,
    booking_number: 'BK20261201001',
    state: 'confirmed',
    state_label: '已预约',
    channel: 'app',
    visit_kind: 'first',
    seq: 3,
    fee_fen: 3000,
    segment_starts_at: '2026-12-01T08:30:00+08:00',
    segment_ends_at: '2026-12-01T09:00:00+08:00',
    session: {
      id: '11111111-1111-1111-1111-111111111111',
      session_date: '2026-12-01',
      period: 'morning',
      period_label: '上午',
      starts_at: '2026-12-01T08:00:00+08:00',
      ends_at: '2026-12-01T12:00:00+08:00',
      room: 'A101',
      state: 'open',
      campus_name: '本部',
    },
    registration_kind: { id: '22222222-2222-2222-2222-222222222222', name: '李建华专家门诊', slot_type_code: 'expert', disease: null },
    department: { id: '44444444-4444-4444-4444-444444444444', name: '心血管内科' },
    doctor: { id: '55555555-5555-5555-5555-555555555555', name: '李建华', professional_title: 'chief_physician' },
    patient_id: '88888888-8888-8888-8888-888888888888',
    patient_name: '张*',
    order: null,
    his_registration_number: null,
    counter_payment: null,
    hold_expires_at: null,
    confirmed_at: '2026-11-28T09:00:00+08:00',
    arrived_at: null,
    ended_at: null,
    end_reason: null,
    created_at: '2026-11-28T09:00:00+08:00',
    refunds: [],
    cancellation: null,
    ...overrides,
  }
}

async function mountSignedIn() {
  const pinia = createPinia()
  setActivePinia(pinia)
  const session = useSessionStore()
  await session.restore()
  const wrapper = mount(BookingDetailDrawer, { props: { bookingId: BOOKING_ID }, global: { plugins: [i18n, pinia] }, attachTo: document.body })
  await flushPromises()
  return wrapper
}

const button = (label: string) => [...document.querySelectorAll<HTMLButtonElement>('button')].find((b) => b.textContent?.trim() === label)

describe('a booking for staff', () => {
  beforeEach(() => {
    localStorage.clear()
    setToken('token')
    vi.unstubAllGlobals()
    document.body.innerHTML = ''
  })

  it('cancels for the patient with a reason, and shows the message the patient is sent', async () => {
    const server = fakeServer({
      'GET /api/v1/auth/me': () => json(200, me({ roles: ['customer_service'], permissions: ['booking.read', 'booking.manage'] })),
      [`GET /api/v1/bookings/${BOOKING_ID}`]: () => json(200, detail()),
      [`POST /api/v1/bookings/${BOOKING_ID}/cancel`]: () =>
        json(200, {
          booking: detail({ state: 'cancelled', state_label: '已取消', end_reason: 'by_staff' }),
          is_late: false,
          refund: null,
          counter_refund_fen: 0,
          message: '预约已取消，挂号费30.00元将原路退回，一般1-7个工作日到账。',
        }),
    })
    await mountSignedIn()
    expect(document.querySelector('[data-test=booking-detail]')!.textContent).toContain('张*')
    expect(button('释放锁号')).toBeUndefined()
    button('代患者取消')!.click()
    await flushPromises()
    await vi.waitFor(() => expect(document.querySelector('.el-message-box textarea')).not.toBeNull())
    const reason = document.querySelector<HTMLTextAreaElement>('.el-message-box textarea')!
    reason.value = '患者急诊住院，电话申请'
    reason.dispatchEvent(new Event('input'))
    await flushPromises()
    ;[...document.querySelectorAll<HTMLButtonElement>('.el-message-box__btns button')].at(-1)!.click()
    await vi.waitFor(() => expect(server.requests.some((r) => r.method === 'POST')).toBe(true))
    const sent = server.requests.find((r) => r.method === 'POST')!
    expect(await sent.json()).toEqual({ reason: '患者急诊住院，电话申请' })
    await vi.waitFor(() => expect(document.body.textContent).toContain('一般1-7个工作日到账'))
    await vi.waitFor(() => expect(document.querySelector('[data-test=detail-state]')!.textContent).toContain('已取消'))
  })

  it('offers no cancel or release to someone who may only read', async () => {
    fakeServer({
      'GET /api/v1/auth/me': () => json(200, me({ roles: ['booking_reader'], permissions: ['booking.read'] })),
      [`GET /api/v1/bookings/${BOOKING_ID}`]: () => json(200, detail({ state: 'held', state_label: '待支付' })),
    })
    await mountSignedIn()
    expect(document.querySelector('[data-test=detail-state]')!.textContent).toContain('待支付')
    expect(button('代患者取消')).toBeUndefined()
    expect(button('释放锁号')).toBeUndefined()
  })
})
