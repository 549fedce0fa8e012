/**
 * Booking state that outlives one screen: the campuses and their departments (fetched once per app
 * start, they change rarely), and the idempotency key of the booking attempt in progress, so that a tap
 * retried after a lost answer — or a second tap — is the same request and never books twice.
 */
import { api } from '../api/request'
import { choiceKey, newRequestKey, type Campus } from '../utils/booking'

let campuses: Promise<Campus[]> | null = null

export function loadCampuses(): Promise<Campus[]> {
  if (!campuses) {
    campuses = api.get('/api/v1/clinics/campuses', { anonymous: true, silent: true })
    campuses.catch(() => {
      campuses = null
    })
  }
  return campuses
}

export interface Choice {
  sessionId: string
  /** The segment's start time as the server sent it; '' for any segment. */
  segment: string
  patientId: string
  visitKind: string
}

let attempt: { choice: string; key: string } | null = null

/**
 * The key for booking this choice: the same as last time while the choice is the same and the attempt is
 * not finished, a new one for a new choice.
 */
export function requestKeyFor(choice: Choice): string {
  const wanted = choiceKey(choice)
  if (!attempt || attempt.choice !== wanted) attempt = { choice: wanted, key: newRequestKey() }
  return attempt.key
}

/** The attempt ended (booked, or refused for good): the next tap is a new request. */
export function finishAttempt(): void {
  attempt = null
}

/** Forgets what was loaded (tests). */
export function resetBooking(): void {
  campuses = null
  attempt = null
}
