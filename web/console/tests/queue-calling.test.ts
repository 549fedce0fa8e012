import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { i18n } from '@/i18n'
import CallingDesk from '@/views/queue/CallingDesk.vue'

import { fakeServer, json } from './helpers'

class FakeSocket {
  static all: FakeSocket[] = []
  sent: Record<string, unknown>[] = []
  readyState = 0
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: ((event: { code: number }) => void) | null = null
  onerror: ((event: unknown) => void) | null = null
  constructor(readonly url: string) {
    FakeSocket.all.push(this)
  }
  send(data: string) {
    this.sent.push(JSON.parse(data) as Record<string, unknown>)
  }
  close() {}
  receive(message: object) {
    this.onmessage?.({ data: JSON.stringify(message) })
  }
}

const QUEUE = {
  id: 'q1',
  kind: 'room',
  campus_id: 'c',
  department_id: 'd',
  code: 'A101',
  name: '心血管内科 A101',
  place: 'A101',
  is_active: true,
  last_seq: 1,
}
const COUNTS = { queue: QUEUE, waiting: 1, called: 0, in_visit: 0, done: 0, missed: 0, left: 0 }
const ENTRY = {
  id: 'e1',
  queue_id: 'q1',
  queue_date: '2026-11-30',
  number: 7,
  name: '王*',
  state: 'waiting',
  labels: ['booked', 'return'],
  sort_key: 1,
  checked_in_at: '2026-11-30T00:00:00+00:00',
  called_at: null,
  called_to: null,
  call_count: 0,
  miss_count: 0,
  visit_started_at: null,
  finished_at: null,
}

describe('the calling desk', () => {
  beforeEach(() => {
    FakeSocket.all = []
    localStorage.clear()
    localStorage.setItem('ihos.console.token', 'staff-token')
    vi.stubGlobal('WebSocket', FakeSocket)
  })
  afterEach(() => vi.unstubAllGlobals())

  it('opens the doctor’s own queue live and calls next', async () => {
    const server = fakeServer({
      'GET /api/v1/queues/mine': () => json(200, [COUNTS]),
      'GET /api/v1/queues': () => json(200, [COUNTS]),
      'POST /api/v1/queues/q1/call-next': () =>
        json(200, { entry: { ...ENTRY, state: 'called' }, announcement: '请 7号 王* 到 A101 就诊' }),
    })
    const wrapper = mount(CallingDesk, { global: { plugins: [i18n] }, attachTo: document.body })
    await flushPromises()
    const socket = FakeSocket.all[0]!
    expect(socket.url).toMatch(/\/api\/v1\/queue-stream\/staff$/)
    socket.onopen?.({})
    expect(socket.sent[0]).toEqual({ token: 'staff-token', queue_ids: ['q1'] })
    socket.receive({ type: 'hello', queues: [] })
    socket.receive({ type: 'snapshot', queues: [{ queue: QUEUE, seq: 1, entries: [ENTRY] }] })
    await flushPromises()
    expect(wrapper.get('[data-test=calling-waiting]').text()).toContain('王*')
    expect(wrapper.get('[data-test=calling-waiting]').text()).toContain('复诊')
    expect(wrapper.get('[data-test=live-status]').text()).toBe('实时')

    await wrapper.get('[data-test=call-next]').trigger('click')
    await flushPromises()
    const posted = server.requests.find((request) => request.method === 'POST')!
    expect(new URL(posted.url).pathname).toBe('/api/v1/queues/q1/call-next')
    expect(await posted.json()).toEqual({})
    expect(document.body.textContent).toContain('请 7号 王* 到 A101 就诊')

    socket.receive({
      type: 'event',
      queue_id: 'q1',
      seq: 2,
      kind: 'called',
      at: '',
      entry: { ...ENTRY, state: 'called', called_at: '2026-11-30T00:05:00+00:00', called_to: 'A101', call_count: 1 },
    })
    await flushPromises()
    expect(wrapper.get('[data-test=calling-current]').text()).toContain('王*')
    expect(wrapper.get('[data-test=calling-current]').text()).toContain('开始就诊')
    wrapper.unmount()
  }, 20_000)

  it('marks whose patients wait in a shared room, as 下一位 sees them', async () => {
    const shared = { ...COUNTS, waiting: 3, my_session_ids: ['afternoon'], other_doctors_session_ids: ['morning'] }
    fakeServer({
      'GET /api/v1/queues/mine': () => json(200, [shared]),
      'GET /api/v1/queues': () => json(200, [COUNTS]),
    })
    const wrapper = mount(CallingDesk, { global: { plugins: [i18n] }, attachTo: document.body })
    await flushPromises()
    const socket = FakeSocket.all[0]!
    socket.onopen?.({})
    const late = { ...ENTRY, id: 'late', name: '赵*到', session_id: 'morning' }
    const own = { ...ENTRY, id: 'own', number: 8, name: '钱*午', sort_key: 2, session_id: 'afternoon' }
    const general = { ...ENTRY, id: 'general', number: 9, name: '孙*通', sort_key: 3, session_id: 'general' }
    socket.receive({ type: 'hello', queues: [] })
    socket.receive({ type: 'snapshot', queues: [{ queue: QUEUE, seq: 1, entries: [late, own, general] }] })
    await flushPromises()
    const rows = wrapper.findAll('[data-test=calling-waiting] .el-table__body tr')
    expect(rows.map((row) => row.text())).toEqual([
      expect.stringContaining('其他医生'),
      expect.stringContaining('本人'),
      expect.not.stringMatching(/本人|其他医生/),
    ])
    expect(wrapper.get('[data-test=own-patients-only]').text()).toContain('只叫您的患者和普通号患者')
    wrapper.unmount()
  }, 20_000)
})
