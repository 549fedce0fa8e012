import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'

import { setToken } from '@/auth/token'
import { i18n } from '@/i18n'
import MySessionsDesk from '@/views/scheduling/MySessionsDesk.vue'
import SessionBoardDrawer from '@/views/scheduling/SessionBoardDrawer.vue'

import { fakeServer, json } from './helpers'

const SESSION_ID = '11111111-1111-1111-1111-111111111111'

function session(overrides: Record<string, unknown> = {}) {
  return {
    id: SESSION_ID,
    registration_kind_id: '22222222-2222-2222-2222-222222222222',
    kind_name: '李建华专家门诊',
    campus_id: '33333333-3333-3333-3333-333333333333',
    department_id: '44444444-4444-4444-4444-444444444444',
    department_name: '心血管内科',
    doctor_id: '55555555-5555-5555-5555-555555555555',
    doctor_name: '李建华',
    session_date: '2026-12-01',
    period: 'morning',
    starts_at: '2026-12-01T08:00:00+08:00',
    ends_at: '2026-12-01T09:00:00+08:00',
    room: 'A101',
    capacity: 4,
    fee_fen: 3000,
    is_online: false,
    state: 'open',
    release_at: '2026-11-24T08:00:00+08:00',
    pool_at: '2026-11-30T08:00:00+08:00',
    is_generated: true,
    places: { free: 2, held: 1, booked: 1, cooling: 0, blocked: 0 },
    ...overrides,
  }
}

const place = (seq: number, starts: string, ends: string, channel: string, status: string, booking: string | null = null) => ({
  seq,
  starts_at: `2026-12-01T${starts}:00+08:00`,
  ends_at: `2026-12-01T${ends}:00+08:00`,
  channel,
  status,
  booking_number: booking,
  booking_state: booking ? 'confirmed' : null,
  patient_name: booking ? '张*' : null,
})

describe('the slot-pool desks', () => {
  beforeEach(() => {
    localStorage.clear()
    setToken('token')
    setActivePinia(createPinia())
    vi.unstubAllGlobals()
    document.body.innerHTML = ''
  })

  it('shows a session board by channel, by half hour and place by place, patients masked', async () => {
    fakeServer({
      [`GET /api/v1/scheduling/sessions/${SESSION_ID}/board`]: () =>
        json(200, {
          session: session(),
          by_channel: {
            window: { free: 0, held: 0, booked: 1, cooling: 0, blocked: 0 },
            pool: { free: 2, held: 1, booked: 0, cooling: 0, blocked: 0 },
          },
          places: [
            place(1, '08:00', '08:30', 'window', 'booked', 'BK20261201001'),
            place(2, '08:00', '08:30', 'pool', 'held', 'BK20261201002'),
            place(3, '08:30', '09:00', 'pool', 'free'),
            place(4, '08:30', '09:00', 'pool', 'free'),
          ],
        }),
    })
    mount(SessionBoardDrawer, { props: { sessionId: SESSION_ID }, global: { plugins: [i18n, createPinia()] }, attachTo: document.body })
    await flushPromises()
    const board = document.querySelector('[data-test=session-board]')!
    expect(board.textContent).toContain('李建华专家门诊')
    const channels = document.querySelector('[data-test=board-channels]')!.textContent!
    expect(channels).toContain('挂号窗口')
    expect(channels).toContain('公共号池')
    const segments = [...document.querySelectorAll('[data-test=board-segments] .el-table__row')].map((row) => row.textContent)
    expect(segments).toHaveLength(2)
    expect(segments[1]).toContain('公共号池 2/2')
    const places = document.querySelector('[data-test=board-places]')!.textContent!
    expect(places).toContain('BK20261201001')
    expect(places).toContain('张*')
    expect(places).toContain('锁定')
  })

  it('shows the server message when the board cannot be read', async () => {
    fakeServer({
      [`GET /api/v1/scheduling/sessions/${SESSION_ID}/board`]: () => json(404, { error: 'not_found', message: '出诊不存在' }),
    })
    mount(SessionBoardDrawer, { props: { sessionId: SESSION_ID }, global: { plugins: [i18n, createPinia()] }, attachTo: document.body })
    await flushPromises()
    expect(document.body.textContent).toContain('出诊不存在')
  })

  it("lists a doctor's own sessions with the patients booked", async () => {
    const server = fakeServer({
      'GET /api/v1/scheduling/my-sessions': () =>
        json(200, [
          {
            ...session(),
            bookings: [
              {
                booking_number: 'BK20261201001',
                seq: 1,
                segment_starts_at: '2026-12-01T08:00:00+08:00',
                state: 'confirmed',
                visit_kind: 'return',
                channel: 'window',
                patient_name: '张*',
              },
            ],
          },
          { ...session({ id: '66666666-6666-6666-6666-666666666666', period: 'afternoon' }), bookings: [] },
        ]),
    })
    const wrapper = mount(MySessionsDesk, { global: { plugins: [i18n, createPinia()] }, attachTo: document.body })
    await flushPromises()
    const text = wrapper.find('[data-test=my-sessions]').text()
    expect(text).toContain('已约 1 / 4')
    expect(text).toContain('张*')
    expect(text).toContain('复诊')
    expect(text).toContain('已预约')
    expect(text).toContain('暂无预约')
    const asked = new URL(server.requests[0]!.url)
    expect(asked.searchParams.get('date_from')).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    expect(asked.searchParams.get('date_to')).toMatch(/^\d{4}-\d{2}-\d{2}$/)
  })

  it('says so when the doctor has no sessions', async () => {
    fakeServer({ 'GET /api/v1/scheduling/my-sessions': () => json(200, []) })
    const wrapper = mount(MySessionsDesk, { global: { plugins: [i18n, createPinia()] }, attachTo: document.body })
    await flushPromises()
    expect(wrapper.text()).toContain('这段日期没有您的出诊')
  })
})

describe('who opens the slot-pool and booking desks', () => {
  const base = { mustChangePassword: false, demo: false }
  const office = { ...base, roles: ['outpatient_office'], permissions: ['organisation.read', 'patient.read', 'schedule.manage', 'booking.read', 'booking.manage', 'blacklist.manage'] }
  const doctor = { ...base, roles: ['doctor'], permissions: ['organisation.read', 'patient.read', 'booking.link'] }
  const finance = { ...base, roles: ['finance'], permissions: ['organisation.read', 'finance.read'] }
  const reader = { ...base, roles: ['booking_clerk'], permissions: ['booking.read'] }

  it('gives the office every desk, customer-service-like roles the records, doctors their own schedule', async () => {
    const { menuEntries } = await import('@/router/guard')
    const { deskRoutes } = await import('@/router/desks')
    const names = (session: typeof office) => menuEntries(deskRoutes, session).map((route) => String(route.name))
    const desks = ['scheduling-setup', 'scheduling-sessions', 'booking-records', 'booking-suspensions', 'booking-bans']
    expect(names(office)).toEqual(expect.arrayContaining(['patients', ...desks]))
    expect(names(office)).not.toContain('scheduling-mine')
    expect(names(doctor)).toContain('scheduling-mine')
    expect(names(doctor).filter((name) => desks.includes(name))).toEqual([])
    expect(names(finance).filter((name) => [...desks, 'scheduling-mine'].includes(name))).toEqual([])
    // A custom role with booking.read only: the records and the sessions, not the office's settings.
    expect(names(reader).filter((name) => desks.includes(name))).toEqual(['scheduling-sessions', 'booking-records'])
  })
})
