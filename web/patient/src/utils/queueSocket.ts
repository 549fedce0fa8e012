/**
 * 我的候诊 live: the patient's WebSocket (`/api/v1/queue-stream/me`, docs/developer/queue.md) over
 * `uni.connectSocket`, which H5 and both mini-programs have. The first message is `{"token"}`; then
 * `positions` whenever a place changes and `notice` when one of the account's patients is called. After a
 * break it reconnects with a growing backoff (the server sends the positions again on each connection); a
 * refusal (close codes 4400–4404) stops it.
 */
import { apiBaseUrl } from '../api/request'

export type LiveStatus = 'connecting' | 'open' | 'reconnecting' | 'refused' | 'closed'

const REFUSED = new Set([4400, 4401, 4403, 4404])
const PING_MS = 30_000
const PATH = '/api/v1/queue-stream/me'

/** The socket's address: the API origin with ws(s), or this page's origin on H5. */
export function queueSocketUrl(base: string = apiBaseUrl(), here?: { protocol: string; host: string }): string {
  if (base) return base.replace(/^http/, 'ws').replace(/\/$/, '') + PATH
  const where = here ?? (typeof location !== 'undefined' ? location : { protocol: 'http:', host: '127.0.0.1:8000' })
  return `${where.protocol === 'https:' ? 'wss' : 'ws'}://${where.host}${PATH}`
}

/** 1 s, 2 s, 4 s… up to 30 s. */
export function reconnectDelay(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, attempt))
}

export interface QueueSocketOptions {
  token: () => string | null
  onMessage: (message: Record<string, unknown>) => void
  onStatus: (status: LiveStatus) => void
}

export interface QueueSocketHandle {
  stop(): void
}

export function connectQueueSocket(options: QueueSocketOptions): QueueSocketHandle {
  let task: UniApp.SocketTask | null = null
  let attempt = 0
  let stopped = false
  let retry: ReturnType<typeof setTimeout> | undefined
  let ping: ReturnType<typeof setInterval> | undefined

  function clear() {
    if (retry) clearTimeout(retry)
    if (ping) clearInterval(ping)
    retry = undefined
    ping = undefined
  }

  function connect() {
    const token = options.token()
    if (!token) {
      options.onStatus('refused')
      return
    }
    options.onStatus(attempt === 0 ? 'connecting' : 'reconnecting')
    const current = uni.connectSocket({ url: queueSocketUrl(), complete: () => {} })
    task = current
    current.onOpen(() => {
      current.send({ data: JSON.stringify({ token }) })
      ping = setInterval(() => current.send({ data: JSON.stringify({ type: 'ping' }) }), PING_MS)
    })
    current.onMessage((event) => {
      let message: Record<string, unknown>
      try {
        message = JSON.parse(String(event.data)) as Record<string, unknown>
      } catch {
        return
      }
      if (message.type === 'hello') {
        attempt = 0
        options.onStatus('open')
      }
      options.onMessage(message)
    })
    current.onError(() => {})
    current.onClose((event: { code?: number }) => {
      if (task !== current) return
      clear()
      task = null
      if (stopped) return
      if (event.code !== undefined && REFUSED.has(event.code)) {
        options.onStatus('refused')
        return
      }
      options.onStatus('reconnecting')
      retry = setTimeout(connect, reconnectDelay(attempt))
      attempt += 1
    })
  }

  connect()
  return {
    stop() {
      stopped = true
      clear()
      const current = task
      task = null
      current?.close({ code: 1000 })
      options.onStatus('closed')
    },
  }
}
