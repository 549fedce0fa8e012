import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { useLiveQueues, type SocketLike } from '@/composables/queueSocket'
import type { EventMessage } from '@/stores/queueState'

class FakeSocket implements SocketLike {
  readyState = 0
  sent: Record<string, unknown>[] = []
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: ((event: { code: number }) => void) | null = null
  onerror: ((event: unknown) => void) | null = null
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>)
  }
  close(): void {}
  receive(message: object): void {
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
  labels: ['booked'],
  sort_key: 1,
  checked_in_at: '2026-11-30T00:00:00+00:00',
  called_at: null,
  called_to: null,
  call_count: 0,
  miss_count: 0,
  visit_started_at: null,
  finished_at: null,
}

describe('the screen socket', () => {
  let sockets: FakeSocket[]
  const open = (url: string) => {
    const socket = new FakeSocket(url)
    sockets.push(socket)
    return socket
  }

  beforeEach(() => {
    sockets = []
    vi.useFakeTimers()
  })
  afterEach(() => vi.useRealTimers())

  it('authenticates first, reconnects with backoff and resumes after the last event', () => {
    const heard: EventMessage[] = []
    const live = useLiveQueues('/api/v1/queue-stream/screen', () => ({ token: 'ihs_x' }), (e) => heard.push(e), open)
    live.start()
    expect(live.status.value).toBe('connecting')
    const first = sockets[0]!
    expect(first.url).toMatch(/^ws:\/\/.*\/api\/v1\/queue-stream\/screen$/)
    first.onopen?.({})
    expect(first.sent[0]).toEqual({ token: 'ihs_x' })
    first.receive({ type: 'hello', screen: { id: 's', name: '3诊室门口', kind: 'room' } })
    expect(live.status.value).toBe('open')
    first.receive({
      type: 'snapshot',
      queues: [{ queue: { id: 'q1', kind: 'room', name: '3诊室', place: '3诊室', department_id: null }, seq: 4, entries: [ENTRY] }],
    })
    first.receive({
      type: 'event',
      queue_id: 'q1',
      seq: 5,
      kind: 'called',
      at: '',
      entry: { ...ENTRY, state: 'called' },
      announcement: '请 12号 张*三 到 3诊室 就诊',
    })
    expect(heard.map((e) => e.announcement)).toEqual(['请 12号 张*三 到 3诊室 就诊'])

    first.onclose?.({ code: 1006 })
    expect(live.status.value).toBe('reconnecting')
    vi.advanceTimersByTime(1300)
    const second = sockets[1]!
    second.onopen?.({})
    expect(second.sent[0]).toEqual({ token: 'ihs_x', after: { q1: 5 } })
    // The server replays from the log; a repeat is applied once.
    second.receive({ type: 'hello', screen: { id: 's', name: '3诊室门口', kind: 'room' } })
    second.receive({ type: 'event', queue_id: 'q1', seq: 5, kind: 'called', at: '', entry: { ...ENTRY, state: 'called' }, announcement: 'x' })
    expect(heard).toHaveLength(1)
    expect(live.state.q1!.entries.e1!.state).toBe('called')
  })

  it('drops a queue the office switched off', () => {
    const live = useLiveQueues('/api/v1/queue-stream/screen', () => ({ token: 'ihs_x' }), () => {}, open)
    live.start()
    const socket = sockets[0]!
    socket.onopen?.({})
    socket.receive({ type: 'hello', screen: { id: 's', name: '内科候诊大厅', kind: 'hall' } })
    const room = (id: string, name: string) => ({ queue: { id, kind: 'room', name, place: name, department_id: 'd' }, seq: 1, entries: [] })
    socket.receive({ type: 'snapshot', queues: [room('q1', '3诊室'), room('q2', '5诊室')] })
    expect(Object.keys(live.state).sort()).toEqual(['q1', 'q2'])
    socket.receive({ type: 'queue_removed', queue_id: 'q2' })
    expect(Object.keys(live.state)).toEqual(['q1'])
  })

  it('stops on a refusal', () => {
    const live = useLiveQueues('/api/v1/queue-stream/screen', () => ({ token: 'bad' }), () => {}, open)
    live.start()
    sockets[0]!.receive({ type: 'error', error: 'screen_token_invalid', message: '叫号屏令牌无效或已停用，请联系信息科' })
    sockets[0]!.onclose?.({ code: 4401 })
    expect(live.status.value).toBe('refused')
    expect(live.error.value?.code).toBe('screen_token_invalid')
    vi.advanceTimersByTime(60_000)
    expect(sockets).toHaveLength(1)
  })
})
