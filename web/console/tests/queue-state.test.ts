import { describe, expect, it } from 'vitest'

import {
  applyEvent,
  applySnapshot,
  backoffMs,
  queueView,
  resumeFrom,
  type LiveEntry,
  type LiveState,
} from '@/stores/queueState'

function entry(id: string, overrides: Partial<LiveEntry> = {}): LiveEntry {
  return {
    id,
    queue_id: 'q1',
    queue_date: '2026-11-30',
    number: Number(id.replace(/\D/g, '')) || 1,
    name: '张*三',
    state: 'waiting',
    labels: ['booked'],
    sort_key: 100,
    checked_in_at: '2026-11-30T00:00:00+00:00',
    called_at: null,
    called_to: null,
    call_count: 0,
    miss_count: 0,
    visit_started_at: null,
    finished_at: null,
    ...overrides,
  }
}

const QUEUE = { id: 'q1', kind: 'room', name: '内科 3诊室', place: '3诊室', department_id: 'd1' }

function started(): LiveState {
  const state: LiveState = {}
  applySnapshot(state, {
    type: 'snapshot',
    queues: [{ queue: QUEUE, seq: 3, entries: [entry('e2', { sort_key: 200 }), entry('e1', { sort_key: 100 })] }],
  })
  return state
}

describe('the live queue', () => {
  it('orders the waiting patients by sort key', () => {
    expect(queueView(started().q1).waiting.map((e) => e.id)).toEqual(['e1', 'e2'])
  })

  it('applies a call once, and the moved sort keys', () => {
    const state = started()
    const called = {
      type: 'event' as const,
      queue_id: 'q1',
      seq: 4,
      kind: 'called',
      at: '2026-11-30T00:05:00+00:00',
      entry: entry('e1', { state: 'called', called_at: '2026-11-30T00:05:00+00:00', called_to: '3诊室' }),
      announcement: '请 1号 张*三 到 3诊室 就诊',
      moved: [{ id: 'e2', sort_key: 50 }],
    }
    expect(applyEvent(state, called)).toBe(true)
    expect(applyEvent(state, called)).toBe(false)
    const view = queueView(state.q1)
    expect(view.calling.map((e) => e.id)).toEqual(['e1'])
    expect(view.waiting.map((e) => [e.id, e.sort_key])).toEqual([['e2', 50]])
    expect(resumeFrom(state)).toEqual({ q1: 4 })
  })

  it('ignores queues it does not follow and old events', () => {
    const state = started()
    expect(applyEvent(state, { type: 'event', queue_id: 'other', seq: 9, kind: 'called', at: '', entry: null })).toBe(false)
    expect(applyEvent(state, { type: 'event', queue_id: 'q1', seq: 2, kind: 'called', at: '', entry: null })).toBe(false)
    expect(state.q1!.seq).toBe(3)
  })

  it('lists the missed, and a finished visit updates the average', () => {
    const state = started()
    applyEvent(state, { type: 'event', queue_id: 'q1', seq: 4, kind: 'removed', at: '', entry: entry('e2', { state: 'missed', miss_count: 2 }) })
    applyEvent(state, {
      type: 'event',
      queue_id: 'q1',
      seq: 5,
      kind: 'finished',
      at: '',
      entry: entry('e1', { state: 'done', finished_at: '2026-11-30T00:20:00+00:00' }),
      average_minutes: 8,
    })
    const view = queueView(state.q1)
    expect(view.missed.map((e) => e.id)).toEqual(['e2'])
    expect(view.done.map((e) => e.id)).toEqual(['e1'])
    expect(state.q1!.averageMinutes).toBe(8)
  })

  it('backs off up to 30 seconds', () => {
    expect(backoffMs(0, () => 0)).toBe(1000)
    expect(backoffMs(3, () => 0)).toBe(8000)
    expect(backoffMs(10, () => 1)).toBe(36000)
  })
})
