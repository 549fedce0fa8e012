/**
 * The only way the patient app talks to the server: `uni.request` (it works on H5 and in both
 * mini-programs, where `fetch` does not), typed with the paths generated from the backend's OpenAPI
 * document into `schema.d.ts`.
 *
 * Every call sends the bearer token when there is one. A non-2xx answer becomes an `ApiError` carrying
 * the server's stable `code` and its Chinese `message`, which is also shown as a toast unless the
 * caller passes `silent: true` to show it in the page instead.
 */
import type {
  HttpMethod,
  OperationRequestBodyContent,
  PathsWithMethod,
  SuccessResponseJSON,
} from 'openapi-typescript-helpers'

import { t } from '../locale'
import { clearSession, getToken } from '../stores/session'
import type { paths } from './schema'

export class ApiError extends Error {
  /** The server's stable error code (`invalid_input`, `unauthenticated`…), or `network_error`, `timeout`, `http_<status>`. */
  readonly code: string
  /** HTTP status, 0 when the request never got an answer. */
  readonly status: number
  readonly details?: unknown

  constructor(code: string, message: string, status: number, details?: unknown) {
    super(message)
    this.name = 'ApiError'
    this.code = code
    this.status = status
    this.details = details
  }
}

interface Settings {
  /** Origin of the API. Empty on H5 (same origin); mini-programs need the full https origin. */
  baseUrl: string
  timeoutMs: number
  /** Called after a 401 has cleared the session; by default opens the sign-in page. */
  onUnauthenticated: () => void
}

function defaultBaseUrl(): string {
  let url = import.meta.env.VITE_API_BASE_URL ?? ''
  // #ifdef MP
  // A mini-program has no origin of its own; in development it talks to `make run` on this machine.
  if (!url && import.meta.env.DEV) url = 'http://127.0.0.1:8000'
  // #endif
  return url
}

const settings: Settings = {
  baseUrl: defaultBaseUrl(),
  timeoutMs: 15000,
  onUnauthenticated: () => {
    uni.navigateTo({ url: '/pages/auth/sign-in' })
  },
}

export function configureRequest(overrides: Partial<Settings>): void {
  Object.assign(settings, overrides)
}

// No PATCH: neither wx.request nor my.request can send it, so endpoints the patient app calls must not
// need it (PUT or POST instead).
type Method = Extract<HttpMethod, 'get' | 'post' | 'put' | 'delete'>
type Operation<P extends keyof paths, M extends Method> = paths[P] extends Record<M, infer O> ? O : never
type ParametersOf<O> = O extends { parameters: infer X } ? X : never

export type RequestOptions<O> = {
  params?: Pick<ParametersOf<O>, Extract<keyof ParametersOf<O>, 'path' | 'query'>>
  body?: OperationRequestBodyContent<O>
  /** Do not show the error toast; the page shows the error itself. */
  silent?: boolean
  /** Do not send the bearer token (sign-in calls). */
  anonymous?: boolean
}

export type ResponseOf<P extends keyof paths, M extends Method> = SuccessResponseJSON<
  Operation<P, M> & Record<string | number, any>
>

interface ErrorBody {
  error: string
  message: string
  details?: unknown
}

function isErrorBody(value: unknown): value is ErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ErrorBody).error === 'string' &&
    typeof (value as ErrorBody).message === 'string'
  )
}

/** `/a/{id}/b` with `{ id: 7 }` → `/a/7/b`; query parameters are appended in key order, skipping null and undefined. */
export function buildUrl(
  path: string,
  params?: { path?: Record<string, unknown>; query?: Record<string, unknown> },
): string {
  const filled = path.replace(/\{(\w+)\}/g, (_whole, name: string) => {
    const value = params?.path?.[name]
    if (value === undefined || value === null) throw new Error(`missing path parameter ${name} for ${path}`)
    return encodeURIComponent(String(value))
  })
  const query = params?.query ?? {}
  const pairs: string[] = []
  for (const key of Object.keys(query).sort()) {
    const value = query[key]
    if (value === undefined || value === null) continue
    for (const item of Array.isArray(value) ? value : [value]) {
      pairs.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(item))}`)
    }
  }
  return pairs.length ? `${filled}?${pairs.join('&')}` : filled
}

/** Turns a finished `uni.request` answer into the result or an `ApiError`. */
export function toResult(statusCode: number, data: unknown): unknown {
  if (statusCode >= 200 && statusCode < 300) return statusCode === 204 ? undefined : data
  if (isErrorBody(data)) return new ApiError(data.error, data.message, statusCode, data.details)
  const message = statusCode >= 500 ? t('error.server') : t('error.unknown')
  return new ApiError(`http_${statusCode}`, message, statusCode)
}

function send<O>(method: Method, path: string, options: RequestOptions<O> = {}): Promise<unknown> {
  const header: Record<string, string> = { Accept: 'application/json' }
  const token = options.anonymous ? null : getToken()
  if (token) header.Authorization = `Bearer ${token}`
  if (options.body !== undefined) header['Content-Type'] = 'application/json'

  return new Promise((resolve, reject) => {
    const fail = (error: ApiError) => {
      if (error.status === 401 && token) {
        clearSession()
        settings.onUnauthenticated()
      }
      if (!options.silent) uni.showToast({ title: error.message, icon: 'none', duration: 3000 })
      reject(error)
    }
    uni.request({
      url: settings.baseUrl + buildUrl(path, options.params as never),
      method: method.toUpperCase() as UniNamespace.RequestOptions['method'],
      header,
      data: options.body as UniNamespace.RequestOptions['data'],
      dataType: 'json',
      timeout: settings.timeoutMs,
      success: (response) => {
        const result = toResult(response.statusCode, response.data)
        if (result instanceof ApiError) fail(result)
        else resolve(result)
      },
      fail: (error) => {
        const timedOut = /timeout/i.test(error?.errMsg ?? '')
        fail(
          timedOut
            ? new ApiError('timeout', t('error.timeout'), 0)
            : new ApiError('network_error', t('error.network'), 0),
        )
      },
    })
  })
}

function caller<M extends Method>(method: M) {
  return <P extends PathsWithMethod<paths, M>>(
    path: P,
    options?: RequestOptions<Operation<P, M>>,
  ): Promise<ResponseOf<P, M>> => send(method, path as string, options) as Promise<ResponseOf<P, M>>
}

/** `api.get('/api/v1/...', { params: { path, query } })`, `api.post(path, { body })`, `api.put`, `api.delete`. */
export const api = {
  get: caller('get'),
  post: caller('post'),
  put: caller('put'),
  delete: caller('delete'),
}
