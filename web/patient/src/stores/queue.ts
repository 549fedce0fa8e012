/**
 * 我的候诊: where each of the account's patients stands in today's queues. The page loads
 * `GET /api/v1/me/queues` and then follows the `positions` and `notice` messages of the live socket;
 * both are turned into the same `Place`. Pure functions, tested without the page.
 */
import type { Schema } from '../api/types'

export type MyQueues = Schema<'MyQueuesOut'>
export type ExamOrder = Schema<'ExamOrderOut'>

/** One of my places in a queue, as the page shows it. */
export interface Place {
  entryId: string
  queueId: string
  queueName: string
  /** room, hall, exam, lab (from the REST answer; the live message does not say). */
  kind: string
  place: string
  number: number
  name: string
  state: string
  labels: string[]
  calledTo: string | null
  position: number | null
  patientsAhead: number | null
  estimatedWaitMinutes: number | null
  orders: ExamOrder[]
}

/** The live message's item (docs/developer/queue.md). */
export interface PositionItem {
  entry_id: string
  queue_id: string
  queue_name: string
  place: string
  number: number
  name: string
  state: string
  labels: string[]
  called_to: string | null
  position: number | null
  patients_ahead: number | null
  estimated_wait_minutes: number | null
}

export interface Notice {
  entryId: string
  queueId: string
  text: string
  at: string
}

export function placesFromRest(answer: MyQueues): Place[] {
  return answer.items.map((item) => ({
    entryId: item.entry.id,
    queueId: item.queue.id,
    queueName: item.queue.name,
    kind: item.queue.kind,
    place: item.queue.place,
    number: item.entry.number,
    name: item.entry.name,
    state: item.entry.state,
    labels: item.entry.labels,
    calledTo: item.entry.called_to ?? null,
    position: item.position ?? null,
    patientsAhead: item.patients_ahead ?? null,
    estimatedWaitMinutes: item.estimated_wait_minutes ?? null,
    orders: item.orders ?? [],
  }))
}

/**
 * The places after a `positions` message, which lists every place of the account's patients today: its
 * items replace the list; the queue's kind and the orders (which the message does not carry) are kept.
 */
export function applyPositions(places: readonly Place[], items: readonly PositionItem[]): Place[] {
  const known = new Map(places.map((place) => [place.entryId, place]))
  return items.map((item) => {
    const before = known.get(item.entry_id)
    return {
      entryId: item.entry_id,
      queueId: item.queue_id,
      queueName: item.queue_name,
      kind: before?.kind ?? 'room',
      place: item.place,
      number: item.number,
      name: item.name,
      state: item.state,
      labels: item.labels,
      calledTo: item.called_to,
      position: item.position,
      patientsAhead: item.patients_ahead,
      estimatedWaitMinutes: item.estimated_wait_minutes,
      orders: before?.orders ?? [],
    }
  })
}

const STATE_ORDER: Record<string, number> = { called: 0, in_visit: 1, waiting: 2, missed: 3, done: 4, left: 5 }

/** Called first, then in a visit, then waiting (nearest first), then the rest. */
export function sortPlaces(places: readonly Place[]): Place[] {
  return [...places].sort(
    (a, b) =>
      (STATE_ORDER[a.state] ?? 9) - (STATE_ORDER[b.state] ?? 9) ||
      (a.position ?? 9999) - (b.position ?? 9999) ||
      a.queueName.localeCompare(b.queueName),
  )
}

/** Today's bookings the patient may check in for on the phone: confirmed, for today, not yet in a queue. */
export function checkInCandidates<B extends { id: string; state: string; segment_starts_at: string }>(
  bookings: readonly B[],
  today: string,
  localDate: (iso: string) => string,
): B[] {
  return bookings.filter((booking) => booking.state === 'confirmed' && localDate(booking.segment_starts_at) === today)
}
