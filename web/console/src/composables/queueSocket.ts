/**
 * The queue's live connection (WebSocket, docs/developer/queue.md): the first message authenticates
 * (`{"token", "after"?, "queue_ids"?}`), then snapshots and events arrive. After a break the socket
 * reconnects with a growing backoff and resumes with `after` (the last sequence number of each queue), so
 * a screen never misses a call; a refusal (close codes 4400–4404) stops it.
 */
import { getCurrentInstance, onBeforeUnmount, reactive, ref, type Ref } from 'vue'

import {
  applyEvent,
  applySnapshot,
  backoffMs,
  resumeFrom,
  type EventMessage,
  type LiveState,
  type SnapshotMessage,
} from '@/stores/queueState'

export type SocketStatus = 'connecting' | 'open' | 'reconnecting' | 'refused' | 'closed'

/** Close codes of a refusal: reconnecting would be refused again. */
const REFUSED = new Set([4400, 4401, 4403, 4404])
const PING_MS = 30_000

export interface SocketLike {
  readyState: number
  send(data: string): void
  close(code?: number): void
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number }) => void) | null
  onerror: ((event: unknown) => void) | null
}

export interface QueueSocketOptions {
  /** `/api/v1/queue-stream/screen` or `/api/v1/queue-stream/staff`. */
  path: string
  /** The first message, asked again at each (re)connection so that it carries the latest `after`. */
  hello: () => Record<string, unknown>
  onMessage: (message: Record<string, unknown>) => void
  onStatus: (status: SocketStatus, error?: { code: string; message: string }) => void
  open?: (url: string) => SocketLike
  random?: () => number
}

export function socketUrl(path: string, where: Pick<Location, 'protocol' | 'host'> = window.location): string {
  return `${where.protocol === 'https:' ? 'wss' : 'ws'}://${where.host}${path}`
}

export class QueueSocket {
  private socket: SocketLike | null = null
  private attempt = 0
  private timer: ReturnType<typeof setTimeout> | null = null
  private ping: ReturnType<typeof setInterval> | null = null
  private stopped = false
  private refusal: { code: string; message: string } | null = null

  constructor(private readonly options: QueueSocketOptions) {}

  start(): void {
    this.stopped = false
    this.attempt = 0
    this.connect()
  }

  stop(): void {
    this.stopped = true
    this.clearTimers()
    const socket = this.socket
    this.socket = null
    if (socket) {
      socket.onclose = null
      socket.close(1000)
    }
    this.options.onStatus('closed')
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer)
    if (this.ping) clearInterval(this.ping)
    this.timer = null
    this.ping = null
  }

  private connect(): void {
    this.options.onStatus(this.attempt === 0 ? 'connecting' : 'reconnecting')
    this.refusal = null
    const open = this.options.open ?? ((url: string) => new WebSocket(url) as unknown as SocketLike)
    const socket = open(socketUrl(this.options.path))
    this.socket = socket
    socket.onopen = () => {
      socket.send(JSON.stringify(this.options.hello()))
      this.ping = setInterval(() => socket.send(JSON.stringify({ type: 'ping' })), PING_MS)
    }
    socket.onmessage = (event) => {
      let message: Record<string, unknown>
      try {
        message = JSON.parse(String(event.data)) as Record<string, unknown>
      } catch {
        return
      }
      if (message.type === 'hello') {
        this.attempt = 0
        this.options.onStatus('open')
      }
      if (message.type === 'error') {
        this.refusal = { code: String(message.error), message: String(message.message ?? '') }
      }
      this.options.onMessage(message)
    }
    socket.onerror = () => {}
    socket.onclose = (event) => {
      this.clearTimers()
      this.socket = null
      if (this.stopped) return
      if (REFUSED.has(event.code)) {
        this.options.onStatus('refused', this.refusal ?? { code: String(event.code), message: '' })
        return
      }
      this.options.onStatus('reconnecting')
      this.timer = setTimeout(() => this.connect(), backoffMs(this.attempt, this.options.random))
      this.attempt += 1
    }
  }
}

export interface LiveQueues {
  state: LiveState
  status: Ref<SocketStatus>
  error: Ref<{ code: string; message: string } | null>
  /** Screens: `{"id", "name", "kind"}`; desks: null. */
  screen: Ref<{ id: string; name: string; kind: string } | null>
  start: () => void
  stop: () => void
}

/**
 * Live queues for a screen or a desk. `credentials` gives the token (and a desk's `queue_ids`) at each
 * connection; `onEvent` sees each new event once (a screen speaks the calls).
 */
export function useLiveQueues(
  path: string,
  credentials: () => Record<string, unknown>,
  onEvent: (event: EventMessage) => void = () => {},
  open?: (url: string) => SocketLike,
): LiveQueues {
  const state = reactive<LiveState>({})
  const status = ref<SocketStatus>('closed')
  const error = ref<{ code: string; message: string } | null>(null)
  const screen = ref<{ id: string; name: string; kind: string } | null>(null)
  let resumed = false
  const socket = new QueueSocket({
    path,
    open,
    hello: () => {
      const after = resumeFrom(state)
      resumed = Object.keys(after).length > 0
      return { ...credentials(), ...(resumed ? { after } : {}) }
    },
    onStatus: (next, refusal) => {
      status.value = next
      if (refusal) error.value = refusal
      else if (next === 'open') error.value = null
    },
    onMessage: (message) => {
      if (message.type === 'hello') {
        screen.value = (message.screen as typeof screen.value) ?? null
      } else if (message.type === 'snapshot') {
        if (!resumed) for (const key of Object.keys(state)) delete state[key]
        applySnapshot(state, message as unknown as SnapshotMessage)
      } else if (message.type === 'event') {
        const event = message as unknown as EventMessage
        if (applyEvent(state, event)) onEvent(event)
      } else if (message.type === 'queue_removed') {
        // A hall screen's queue switched off by the office: its tile leaves the screen.
        delete state[message.queue_id as string]
      }
    },
  })
  if (getCurrentInstance()) onBeforeUnmount(() => socket.stop())
  return { state, status, error, screen, start: () => socket.start(), stop: () => socket.stop() }
}
