import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { applyPositions, checkInCandidates, placesFromRest, sortPlaces, type MyQueues } from '../src/stores/queue'
import { connectQueueSocket, queueSocketUrl, reconnectDelay, type LiveStatus } from '../src/utils/queueSocket'
import { fakeUni } from './fake-uni'

const REST: MyQueues = {
  items: [
    {
      entry: {
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
      },
      queue: {
        id: 'q1',
        kind: 'exam',
        campus_id: 'c',
        department_id: null,
        code: 'CT',
        name: 'CT室',
        place: 'CT室',
        is_active: true,
        last_seq: 3,
      },
      position: 3,
      patients_ahead: 2,
      estimated_wait_minutes: 20,
      orders: [],
    },
  ],
  pending_orders: [],
}

describe('my places', () => {
  it('come from the REST answer and follow the live positions', () => {
    const places = placesFromRest(REST)
    expect(places[0]).toMatchObject({ queueName: 'CT室', kind: 'exam', position: 3, patientsAhead: 2, estimatedWaitMinutes: 20 })
    const called = applyPositions(places, [
      {
        entry_id: 'e1',
        queue_id: 'q1',
        queue_name: 'CT室',
        place: 'CT室',
        number: 12,
        name: '张*三',
        state: 'called',
        labels: ['booked'],
        called_to: 'CT室',
        position: null,
        patients_ahead: null,
        estimated_wait_minutes: null,
      },
    ])
    expect(called).toHaveLength(1)
    expect(called[0]).toMatchObject({ state: 'called', calledTo: 'CT室', kind: 'exam' })
  })

  it('put the called first', () => {
    const [place] = placesFromRest(REST)
    const sorted = sortPlaces([place!, { ...place!, entryId: 'e2', state: 'called', position: null }])
    expect(sorted.map((p) => p.entryId)).toEqual(['e2', 'e1'])
  })

  it('offer phone check-in for confirmed bookings of today only', () => {
    const bookings = [
      { id: 'b1', state: 'confirmed', segment_starts_at: '2026-11-30T08:00' },
      { id: 'b2', state: 'confirmed', segment_starts_at: '2026-12-01T08:00' },
      { id: 'b3', state: 'arrived', segment_starts_at: '2026-11-30T09:00' },
    ]
    expect(checkInCandidates(bookings, '2026-11-30', (iso) => iso.slice(0, 10)).map((b) => b.id)).toEqual(['b1'])
  })
})

describe('the live socket', () => {
  type Handler = (event: { data?: unknown; code?: number }) => void
  const tasks: { url: string; sent: string[]; handlers: Record<string, Handler>; close: ReturnType<typeof vi.fn> }[] = []

  beforeEach(() => {
    tasks.length = 0
    vi.useFakeTimers()
    ;(fakeUni as Record<string, unknown>).connectSocket = vi.fn(({ url }: { url: string }) => {
      const task = { url, sent: [] as string[], handlers: {} as Record<string, Handler>, close: vi.fn() }
      tasks.push(task)
      return {
        onOpen: (f: Handler) => (task.handlers.open = f),
        onMessage: (f: Handler) => (task.handlers.message = f),
        onClose: (f: Handler) => (task.handlers.close = f),
        onError: (f: Handler) => (task.handlers.error = f),
        send: ({ data }: { data: string }) => task.sent.push(data),
        close: task.close,
      }
    })
  })
  afterEach(() => vi.useRealTimers())

  it('signs in with the first message and reconnects after a break', () => {
    const statuses: LiveStatus[] = []
    const messages: unknown[] = []
    const socket = connectQueueSocket({ token: () => 'tok', onStatus: (s) => statuses.push(s), onMessage: (m) => messages.push(m) })
    tasks[0]!.handlers.open!({})
    expect(JSON.parse(tasks[0]!.sent[0]!)).toEqual({ token: 'tok' })
    tasks[0]!.handlers.message!({ data: JSON.stringify({ type: 'hello' }) })
    tasks[0]!.handlers.message!({ data: JSON.stringify({ type: 'notice', entry_id: 'e1', text: '请 12号 张*三 到 3诊室 就诊' }) })
    expect(messages).toHaveLength(2)
    tasks[0]!.handlers.close!({ code: 1006 })
    expect(statuses.at(-1)).toBe('reconnecting')
    vi.advanceTimersByTime(1000)
    expect(tasks).toHaveLength(2)
    socket.stop()
    expect(statuses.at(-1)).toBe('closed')
  })

  it('stops on a refusal', () => {
    const statuses: LiveStatus[] = []
    connectQueueSocket({ token: () => 'expired', onStatus: (s) => statuses.push(s), onMessage: () => {} })
    tasks[0]!.handlers.close!({ code: 4401 })
    vi.advanceTimersByTime(60_000)
    expect(tasks).toHaveLength(1)
    expect(statuses.at(-1)).toBe('refused')
  })

  it('knows where to connect', () => {
    expect(queueSocketUrl('https://ihos.example.cn')).toBe('wss://ihos.example.cn/api/v1/queue-stream/me')
    expect(queueSocketUrl('', { protocol: 'http:', host: '127.0.0.1:8000' })).toBe('ws://127.0.0.1:8000/api/v1/queue-stream/me')
    expect(reconnectDelay(10)).toBe(30_000)
  })
})
