/**
 * The live queues as screens and desks follow them (docs/developer/queue.md, "The live protocol"): a
 * snapshot per queue, then events applied in sequence. Pure functions over plain objects, so that the
 * rules (ordering, idempotent events, the `after` to resume from) are tested without a socket.
 */

/** One patient in one queue, as every client sees it (names masked by the server). */
export interface LiveEntry {
  id: string
  queue_id: string
  queue_date: string
  number: number
  name: string
  state: string
  labels: string[]
  sort_key: number
  checked_in_at: string
  called_at: string | null
  called_to: string | null
  call_count: number
  miss_count: number
  visit_started_at: string | null
  finished_at: string | null
  /** The clinic session booked (none for exam and lab orders; absent from events logged before it). */
  session_id?: string | null
}

export interface LiveQueueInfo {
  id: string
  kind: string
  name: string
  place: string
  department_id: string | null
}

export interface LiveQueue {
  queue: LiveQueueInfo
  /** The last event applied: reconnect with `after` = this. */
  seq: number
  entries: Record<string, LiveEntry>
  averageMinutes: number | null
}

export type LiveState = Record<string, LiveQueue>

export interface SnapshotMessage {
  type: 'snapshot'
  queues: { queue: LiveQueueInfo; seq: number; entries: LiveEntry[]; average_minutes?: number | null }[]
}

export interface EventMessage {
  type: 'event'
  queue_id: string
  seq: number
  kind: string
  at: string
  entry: LiveEntry | null
  announcement?: string | null
  moved?: { id: string; sort_key: number }[]
  average_minutes?: number | null
  to_queue_id?: string
}

/** Replaces the state of the queues the snapshot lists (a later snapshot, after a lag, does the same). */
export function applySnapshot(state: LiveState, message: SnapshotMessage): void {
  for (const item of message.queues) {
    state[item.queue.id] = {
      queue: item.queue,
      seq: item.seq,
      entries: Object.fromEntries(item.entries.map((entry) => [entry.id, entry])),
      averageMinutes: item.average_minutes ?? null,
    }
  }
}

/**
 * Applies one event; false when it was already applied (a repeat after a reconnect does no harm) or
 * belongs to a queue this client does not follow.
 */
export function applyEvent(state: LiveState, event: EventMessage): boolean {
  const live = state[event.queue_id]
  if (!live || event.seq <= live.seq) return false
  live.seq = event.seq
  if (event.entry) {
    if (event.entry.queue_id === event.queue_id) live.entries[event.entry.id] = event.entry
    else delete live.entries[event.entry.id]
  }
  for (const moved of event.moved ?? []) {
    const entry = live.entries[moved.id]
    if (entry) live.entries[moved.id] = { ...entry, sort_key: moved.sort_key }
  }
  if (event.kind === 'finished' && event.average_minutes !== undefined) live.averageMinutes = event.average_minutes
  return true
}

/** What to send as `after` when reconnecting: the last sequence number of each queue. */
export function resumeFrom(state: LiveState): Record<string, number> {
  return Object.fromEntries(Object.values(state).map((live) => [live.queue.id, live.seq]))
}

/** The queue order every client uses: `(sort_key, checked_in_at, id)`. */
export function byQueueOrder(a: LiveEntry, b: LiveEntry): number {
  if (a.sort_key !== b.sort_key) return a.sort_key - b.sort_key
  if (a.checked_in_at !== b.checked_in_at) return a.checked_in_at < b.checked_in_at ? -1 : 1
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

const latestCall = (a: LiveEntry, b: LiveEntry) => (b.called_at ?? '').localeCompare(a.called_at ?? '')

export interface QueueView {
  /** Called or in a visit, the latest call first. */
  calling: LiveEntry[]
  /** Waiting, in queue order. */
  waiting: LiveEntry[]
  /** Out of the queue after missed calls. */
  missed: LiveEntry[]
  done: LiveEntry[]
  left: LiveEntry[]
}

export function viewOf(entries: Iterable<LiveEntry>): QueueView {
  const view: QueueView = { calling: [], waiting: [], missed: [], done: [], left: [] }
  for (const entry of entries) {
    if (entry.state === 'called' || entry.state === 'in_visit') view.calling.push(entry)
    else if (entry.state === 'waiting') view.waiting.push(entry)
    else if (entry.state === 'missed') view.missed.push(entry)
    else if (entry.state === 'done') view.done.push(entry)
    else if (entry.state === 'left') view.left.push(entry)
  }
  view.calling.sort(latestCall)
  view.waiting.sort(byQueueOrder)
  view.missed.sort(latestCall)
  view.done.sort((a, b) => (b.finished_at ?? '').localeCompare(a.finished_at ?? ''))
  return view
}

export function queueView(live: LiveQueue | undefined): QueueView {
  return viewOf(live ? Object.values(live.entries) : [])
}

/** The label codes the server sends, in the order screens show them. */
export const LABELS = ['booked', 'walk_in', 'order', 'priority', 'return', 'late', 'missed'] as const

/** Backoff before reconnect attempt `attempt` (0, 1, 2…): 1 s, 2 s, 4 s… up to 30 s, with up to 20 % jitter. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.max(0, attempt))
  return Math.round(base * (1 + 0.2 * random()))
}
