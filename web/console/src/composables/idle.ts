/**
 * Signs the user out after a stretch without input (30 minutes for staff, as the server also enforces).
 *
 * Activity is any pointer, key, wheel or touch event, in this tab or in another tab of the console
 * (shared through localStorage). Time is measured from the last activity, not by counting timer ticks,
 * so a laptop that slept through the deadline signs out as soon as it wakes.
 */
export const STAFF_IDLE_LIMIT_MS = 30 * 60 * 1000
export const LAST_ACTIVITY_KEY = 'ihos.console.lastActivity'

const ACTIVITY_EVENTS = ['pointerdown', 'keydown', 'wheel', 'touchstart', 'mousemove'] as const

export interface IdleTimerOptions {
  limitMs?: number
  onIdle: () => void
  /** Where input is watched; the window by default. */
  target?: Pick<Window, 'addEventListener' | 'removeEventListener'>
  storage?: Pick<Storage, 'getItem' | 'setItem'>
  now?: () => number
  /** Activity is written for other tabs at most this often. */
  shareEveryMs?: number
}

export interface IdleTimer {
  stop(): void
  /** Milliseconds since the last activity in any tab. */
  idleFor(): number
}

export function startIdleTimer(options: IdleTimerOptions): IdleTimer {
  const limitMs = options.limitMs ?? STAFF_IDLE_LIMIT_MS
  const target = options.target ?? window
  const storage = options.storage ?? localStorage
  const now = options.now ?? Date.now
  const shareEveryMs = options.shareEveryMs ?? 5000

  let lastActivity = now()
  let lastShared = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false

  const sharedLastActivity = () => Number(storage.getItem(LAST_ACTIVITY_KEY)) || 0
  const latest = () => Math.max(lastActivity, sharedLastActivity())

  function share(at: number) {
    if (at - lastShared < shareEveryMs) return
    lastShared = at
    storage.setItem(LAST_ACTIVITY_KEY, String(at))
  }

  function onActivity() {
    lastActivity = now()
    share(lastActivity)
  }

  function check() {
    if (stopped) return
    const remaining = limitMs - (now() - latest())
    if (remaining <= 0) {
      stop()
      options.onIdle()
      return
    }
    timer = setTimeout(check, Math.min(remaining, 60_000))
  }

  function onVisible() {
    if (document.visibilityState === 'visible') check()
  }

  function stop() {
    stopped = true
    clearTimeout(timer)
    for (const event of ACTIVITY_EVENTS) target.removeEventListener(event, onActivity)
    if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', onVisible)
  }

  for (const event of ACTIVITY_EVENTS) target.addEventListener(event, onActivity, { passive: true })
  if (typeof document !== 'undefined') document.addEventListener('visibilitychange', onVisible)
  share(lastActivity)
  check()

  return { stop, idleFor: () => now() - latest() }
}
