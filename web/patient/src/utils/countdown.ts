/**
 * The hold time of an unpaid order (`expires_at`): how long is left, as the cashier shows it, and a small
 * ticking counter for pages. The server closes the order when the time is over and refuses to take
 * payment after it (order_expired); the counter only tells the patient in advance.
 */
import { computed, ref, type ComputedRef } from 'vue'

/** Whole seconds left until `expiresAt` (ISO time) at `nowMs`; 0 when it is over or unreadable. */
export function secondsLeft(expiresAt: string, nowMs: number): number {
  const end = Date.parse(expiresAt)
  if (Number.isNaN(end)) return 0
  return Math.max(0, Math.ceil((end - nowMs) / 1000))
}

function pad(value: number): string {
  return String(value).padStart(2, '0')
}

/** 905 → "15:05", 3723 → "1:02:03", 0 → "00:00". */
export function formatCountdown(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds))
  const hours = Math.floor(total / 3600)
  const minutes = Math.floor((total % 3600) / 60)
  const rest = total % 60
  return hours > 0 ? `${hours}:${pad(minutes)}:${pad(rest)}` : `${pad(minutes)}:${pad(rest)}`
}

export interface CountdownState {
  seconds: number
  expired: boolean
  /** "14:59"; "00:00" once expired. */
  text: string
}

export function countdownAt(expiresAt: string, nowMs: number): CountdownState {
  const seconds = secondsLeft(expiresAt, nowMs)
  return { seconds, expired: seconds <= 0, text: formatCountdown(seconds) }
}

export interface Countdown {
  state: ComputedRef<CountdownState>
  /** Count down to a new expiry time (or stop counting with null). */
  set(expiresAt: string | null): void
  stop(): void
}

/**
 * A counter that ticks every second while it has an expiry time; `onExpired` is called once when it
 * reaches zero. Pages call `stop()` when they are hidden or closed.
 */
export function useCountdown(onExpired?: () => void, now: () => number = Date.now): Countdown {
  const expiresAt = ref<string | null>(null)
  const tick = ref(now())
  let timer: ReturnType<typeof setInterval> | null = null
  let told = false

  const state = computed(() =>
    expiresAt.value ? countdownAt(expiresAt.value, tick.value) : { seconds: 0, expired: false, text: '' },
  )

  function stop() {
    if (timer !== null) clearInterval(timer)
    timer = null
  }

  function update() {
    tick.value = now()
    if (expiresAt.value && state.value.expired) {
      stop()
      if (!told) {
        told = true
        onExpired?.()
      }
    }
  }

  function set(value: string | null) {
    // The same time again (a page refreshing its order): keep counting, and do not report expiry twice.
    if (value !== null && value === expiresAt.value && (timer !== null || told)) return
    stop()
    expiresAt.value = value
    told = false
    if (!value) return
    update()
    if (!state.value.expired) timer = setInterval(update, 1000)
  }

  return { state, set, stop }
}
