import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'

import { i18n } from '@/i18n'
import ScreenView from '@/views/queue/ScreenView.vue'

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

const ENTRY = {
  id: 'e1',
  queue_id: 'q1',
  queue_date: '2026-11-30',
  number: 12,
  name: '张*三',
  state: 'waiting',
  labels: ['booked', 'priority'],
  sort_key: 1,
  checked_in_at: '2026-11-30T00:00:00+00:00',
  called_at: null,
  called_to: null,
  call_count: 0,
  miss_count: 0,
  visit_started_at: null,
  finished_at: null,
}

async function mountScreen(path: string) {
  const router = createRouter({
    history: createMemoryHistory('/console/'),
    routes: [{ path: '/screen', name: 'queue-screen', component: ScreenView }],
  })
  await router.push(path)
  const wrapper = mount(ScreenView, { global: { plugins: [i18n, router] } })
  await flushPromises()
  return { wrapper, router }
}

describe('the queue screen', () => {
  const spoken: string[] = []

  beforeEach(() => {
    FakeSocket.all = []
    spoken.length = 0
    localStorage.clear()
    vi.stubGlobal('WebSocket', FakeSocket)
    vi.stubGlobal('SpeechSynthesisUtterance', class {
      lang = ''
      rate = 1
      voice: unknown = null
      constructor(readonly text: string) {}
    })
    vi.stubGlobal('speechSynthesis', { getVoices: () => [], speak: (u: { text: string }) => spoken.push(u.text) })
  })
  afterEach(() => vi.unstubAllGlobals())

  it('keeps the token from the address, shows the call, speaks it, and says when it reconnects', async () => {
    const { wrapper, router } = await mountScreen('/screen?token=ihs_abc')
    expect(localStorage.getItem('ihos.screen.token')).toBe('ihs_abc')
    expect(router.currentRoute.value.query.token).toBeUndefined()
    const socket = FakeSocket.all[0]!
    expect(socket.url).toMatch(/\/api\/v1\/queue-stream\/screen$/)
    socket.onopen?.({})
    expect(socket.sent[0]).toEqual({ token: 'ihs_abc' })
    socket.receive({ type: 'hello', screen: { id: 's', name: '内科3诊室门口', kind: 'room' } })
    socket.receive({
      type: 'snapshot',
      queues: [{ queue: { id: 'q1', kind: 'room', name: '内科 3诊室', place: '3诊室', department_id: null }, seq: 1, entries: [ENTRY] }],
    })
    await flushPromises()
    expect(wrapper.text()).toContain('内科3诊室门口')
    expect(wrapper.get('[data-test=screen-next]').text()).toContain('张*三')
    expect(wrapper.get('[data-test=screen-next]').text()).toContain('优先')

    socket.receive({
      type: 'event',
      queue_id: 'q1',
      seq: 2,
      kind: 'called',
      at: '2026-11-30T00:05:00+00:00',
      entry: { ...ENTRY, state: 'called', called_at: '2026-11-30T00:05:00+00:00', called_to: '3诊室', call_count: 1 },
      announcement: '请 12号 张*三 到 3诊室 就诊',
    })
    await flushPromises()
    expect(wrapper.get('[data-test=screen-now-name]').text()).toBe('张*三')
    expect(wrapper.get('[data-test=screen-announcement]').text()).toBe('请 12号 张*三 到 3诊室 就诊')
    expect(spoken).toEqual(['请 12号 张*三 到 3诊室 就诊'])
    // A call the screen catches up with long after (a replay after a break) is shown, not spoken.
    socket.receive({
      type: 'event',
      queue_id: 'q1',
      seq: 3,
      kind: 'recalled',
      at: new Date(Date.now() - 5 * 60_000).toISOString(),
      entry: { ...ENTRY, state: 'called', called_at: '2026-11-30T00:05:00+00:00', called_to: '3诊室', call_count: 2 },
      announcement: '请 12号 张*三 到 3诊室 就诊（重呼）',
    })
    await flushPromises()
    expect(wrapper.get('[data-test=screen-announcement]').text()).toBe('请 12号 张*三 到 3诊室 就诊（重呼）')
    expect(spoken).toHaveLength(1)

    socket.onclose?.({ code: 1006 })
    await flushPromises()
    expect(wrapper.get('[data-test=screen-offline]').text()).toBe('连接中断，正在重连')
    wrapper.unmount()
  })

  it('shows every queue of a hall, and the missed list', async () => {
    localStorage.setItem('ihos.screen.token', 'ihs_hall')
    const { wrapper } = await mountScreen('/screen')
    const socket = FakeSocket.all[0]!
    socket.onopen?.({})
    expect(socket.sent[0]).toEqual({ token: 'ihs_hall' })
    socket.receive({ type: 'hello', screen: { id: 's', name: '内科候诊大厅', kind: 'hall' } })
    const queue = (id: string, name: string) => ({ id, kind: 'room', name, place: name, department_id: 'd' })
    socket.receive({
      type: 'snapshot',
      queues: [
        { queue: queue('q1', '内科 3诊室'), seq: 1, entries: [{ ...ENTRY, state: 'called', called_at: '2026-11-30T00:05:00+00:00' }] },
        { queue: queue('q2', '内科 4诊室'), seq: 1, entries: [{ ...ENTRY, id: 'e2', queue_id: 'q2', number: 3, name: '李*', state: 'missed', miss_count: 2 }] },
      ],
    })
    await flushPromises()
    expect(wrapper.findAll('[data-test=screen-queue]').map((tile) => tile.find('h2').text())).toEqual(['内科 3诊室', '内科 4诊室'])
    expect(wrapper.get('[data-test=screen-missed]').text()).toContain('3号 李*')
    wrapper.unmount()
  })

  it('asks for a token when it has none', async () => {
    const { wrapper } = await mountScreen('/screen')
    expect(wrapper.find('[data-test=screen-token]').exists()).toBe(true)
    expect(FakeSocket.all).toHaveLength(0)
    wrapper.unmount()
  })
})
