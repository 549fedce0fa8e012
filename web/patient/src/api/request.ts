/**
 * The only way the patient app talks to the server: `uni.request` (it works on H5 and in both
 * mini-programs, where `fetch` does not), typed with the paths generated from the backend's OpenAPI
 * document into `schema.d.ts`.
 *
 * Every call sends the bearer token when there is one. A non-2xx answer becomes an `ApiError` carrying
 * the server's stable `code` and its Chinese `message`, which is also shown as a toast unless the
 * caller passes `silent: true` to show it in the page instead.
 *
 * Methods: `wx.request` cannot send PATCH and Alipay's `my.request` only GET and POST (PUT and DELETE
 * need client 10.1.82+), so the mini-programs send PUT, PATCH and DELETE as POST with the header
 * `X-HTTP-Method-Override` naming the real method, which the server honours for POST only. H5 does the
 * same for PATCH and DELETE, so the browser tests run the path the mini-programs depend on.
 */
import type {
  HttpMethod,
  OperationRequestBodyContent,
  PathsWithMethod,
  SuccessResponseJSON,
} from 'openapi-typescript-helpers'

import { t } from '../locale'
import { clearSession, getToken } from '../stores/session'
import { currentPlatform, type Platform } from '../utils/platform'
import type { paths } from './schema'

export class ApiError extends Error {
  /** The server's stable error code (`invalid_input`, `unauthenticated`…), or `network_error`, `timeout`, `http_<status>`. */
  readonly code: string
  /** HTTP status, 0 when the request never got an answer. */
  readonly status: number
  readonly details?: unknown
  /** Seconds to wait before trying again, from a 429's `Retry-After` header (SMS codes asked too often). */
  readonly retryAfter?: number

  constructor(code: string, message: string, status: number, details?: unknown, retryAfter?: number) {
    super(message)
    this.name = 'ApiError'
    this.code = code
    this.status = status
    this.details = details
    this.retryAfter = retryAfter
  }
}

/** The server's answer when a customer-service reset left a temporary password: change it first. */
export const PASSWORD_CHANGE_REQUIRED = 'password_change_required'
export const CHANGE_PASSWORD_PAGE = '/pages/account/password'

interface Settings {
  /** Origin of the API. Empty on H5 (same origin); mini-programs need the full https origin. */
  baseUrl: string
  timeoutMs: number
  /** Which build this is; decides how methods travel (see `wireMethod`). Settable for tests. */
  platform: Platform
  /** Called after a 401 has cleared the session; by default opens the sign-in page. */
  onUnauthenticated: () => void
  /** Called on 403 `password_change_required`; by default opens the change-password page. */
  onPasswordChangeRequired: () => void
}

function defaultBaseUrl(): string {
  let url = import.meta.env.VITE_API_BASE_URL ?? ''
  // #ifdef MP
  // A mini-program has no origin of its own; in development it talks to `make run` on this machine.
  if (!url && import.meta.env.DEV) url = 'http://127.0.0.1:8000'
  // #endif
  return url
}

/** The route of the page on top, e.g. `pages/account/password`; '' when there is none (or in unit tests). */
function currentRoute(): string {
  const pages = typeof getCurrentPages === 'function' ? getCurrentPages() : []
  return pages.length ? (pages[pages.length - 1].route ?? '') : ''
}

const settings: Settings = {
  baseUrl: defaultBaseUrl(),
  timeoutMs: 15000,
  platform: currentPlatform(),
  onUnauthenticated: () => {
    if (currentRoute() === 'pages/auth/sign-in') return
    uni.navigateTo({ url: '/pages/auth/sign-in' })
  },
  onPasswordChangeRequired: () => {
    if (`/${currentRoute()}` === CHANGE_PASSWORD_PAGE) return
    uni.navigateTo({ url: `${CHANGE_PASSWORD_PAGE}?required=1` })
  },
}

export function configureRequest(overrides: Partial<Settings>): void {
  Object.assign(settings, overrides)
}

/** The API origin the app talks to ('' on H5: the same origin). */
export function apiBaseUrl(): string {
  return settings.baseUrl
}

type Method = Extract<HttpMethod, 'get' | 'post' | 'put' | 'patch' | 'delete'>
type WireMethod = 'GET' | 'POST' | 'PUT'

/**
 * How a call travels: the HTTP method sent and the `X-HTTP-Method-Override` header, if any. GET and
 * POST go as they are; PATCH and DELETE always as POST with the override; PUT natively on H5 and as
 * POST with the override in the mini-programs.
 */
export function wireMethod(method: Method, platform: Platform): { method: WireMethod; override?: string } {
  const upper = method.toUpperCase()
  if (method === 'get' || method === 'post') return { method: upper as WireMethod }
  if (method === 'put' && platform === 'h5') return { method: 'PUT' }
  return { method: 'POST', override: upper }
}
type Operation<P extends keyof paths, M extends Method> = paths[P] extends Record<M, infer O> ? O : never
type ParametersOf<O> = O extends { parameters: infer X } ? X : never

export type RequestOptions<O> = {
  params?: Pick<ParametersOf<O>, Extract<keyof ParametersOf<O>, 'path' | 'query'>>
  body?: OperationRequestBodyContent<O>
  /** Do not show the error toast; the page shows the error itself. */
  silent?: boolean
  /** Do not send the bearer token (sign-in calls). */
  anonymous?: boolean
  /** Further headers, e.g. `Idempotency-Key` so that a retried tap is answered with the first result. */
  headers?: Record<string, string>
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

function retryAfterSeconds(headers: unknown): number | undefined {
  if (!headers || typeof headers !== 'object') return undefined
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (name.toLowerCase() !== 'retry-after') continue
    const seconds = Number(value)
    return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined
  }
  return undefined
}

/**
 * The server's clock as far as the app can tell: phones' clocks can be wrong by minutes, and an order's
 * hold time (`expires_at`) is the server's. The `Date` header of each answer gives the difference; one
 * under a few seconds is the header's one-second precision and the network's delay, and is ignored.
 */
const CLOCK_SKEW_IGNORED_MS = 5000
let serverOffsetMs = 0

export function serverNow(): number {
  return Date.now() + serverOffsetMs
}

/** Notes the server's time from an answer's headers (received at `receivedAt`, device time). */
export function noteServerDate(headers: unknown, receivedAt: number = Date.now()): void {
  if (!headers || typeof headers !== 'object') return
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (name.toLowerCase() !== 'date') continue
    const at = Date.parse(String(value))
    if (Number.isNaN(at)) return
    const offset = at + 500 - receivedAt // the header counts whole seconds: take the middle one
    serverOffsetMs = Math.abs(offset) > CLOCK_SKEW_IGNORED_MS ? offset : 0
    return
  }
}

/** Turns a finished `uni.request` answer into the result or an `ApiError`. */
export function toResult(statusCode: number, data: unknown, headers?: unknown): unknown {
  if (statusCode >= 200 && statusCode < 300) return statusCode === 204 ? undefined : data
  if (isErrorBody(data)) {
    return new ApiError(data.error, data.message, statusCode, data.details, retryAfterSeconds(headers))
  }
  const message = statusCode >= 500 ? t('error.server') : t('error.unknown')
  return new ApiError(`http_${statusCode}`, message, statusCode)
}

function authorisation(anonymous?: boolean): { token: string | null; header: Record<string, string> } {
  const token = anonymous ? null : getToken()
  return { token, header: token ? { Authorization: `Bearer ${token}` } : {} }
}

/** What every failed call does: sign out on 401, send to the password change on 403, show the message. */
function failure(error: ApiError, token: string | null, silent?: boolean): ApiError {
  if (error.status === 401 && token) {
    clearSession()
    settings.onUnauthenticated()
  } else if (error.status === 403 && error.code === PASSWORD_CHANGE_REQUIRED) {
    settings.onPasswordChangeRequired()
  }
  if (!silent) uni.showToast({ title: error.message, icon: 'none', duration: 3000 })
  return error
}

function transportError(errMsg: string | undefined): ApiError {
  return /timeout/i.test(errMsg ?? '')
    ? new ApiError('timeout', t('error.timeout'), 0)
    : new ApiError('network_error', t('error.network'), 0)
}

function send<O>(method: Method, path: string, options: RequestOptions<O> = {}): Promise<unknown> {
  const { token, header: auth } = authorisation(options.anonymous)
  const header: Record<string, string> = { Accept: 'application/json', ...options.headers, ...auth }
  if (options.body !== undefined) header['Content-Type'] = 'application/json'
  const wire = wireMethod(method, settings.platform)
  if (wire.override) header['X-HTTP-Method-Override'] = wire.override

  return new Promise((resolve, reject) => {
    uni.request({
      url: settings.baseUrl + buildUrl(path, options.params as never),
      method: wire.method,
      header,
      data: options.body as UniNamespace.RequestOptions['data'],
      dataType: 'json',
      timeout: settings.timeoutMs,
      success: (response) => {
        noteServerDate(response.header)
        const result = toResult(response.statusCode, response.data, response.header)
        if (result instanceof ApiError) reject(failure(result, token, options.silent))
        else resolve(result)
      },
      fail: (error) => reject(failure(transportError(error?.errMsg), token, options.silent)),
    })
  })
}

export interface UploadOptions {
  /** Local paths from `uni.chooseImage`. A mini-program sends only the first: its uploadFile takes one file. */
  filePaths: string[]
  /** The multipart field the files go in. */
  name: string
  /** Further multipart text fields. */
  formData?: Record<string, string>
  silent?: boolean
}

/**
 * A multipart upload (`uni.uploadFile`) to a POST endpoint, with the same token, errors and toasts as
 * `api`. H5 sends every file in one request; the mini-programs' uploadFile sends one file per request.
 */
export function upload<P extends PathsWithMethod<paths, 'post'>>(
  path: P,
  options: UploadOptions,
): Promise<ResponseOf<P, 'post'>> {
  const { token, header } = authorisation(false)
  const files: UniNamespace.UploadFileOption = {
    url: settings.baseUrl + buildUrl(path as string),
    name: options.name,
    filePath: options.filePaths[0],
  }
  // #ifdef H5
  delete files.filePath
  files.files = options.filePaths.map((uri) => ({ name: options.name, uri }))
  // #endif

  return new Promise((resolve, reject) => {
    uni.uploadFile({
      ...files,
      header,
      formData: options.formData ?? {},
      timeout: settings.timeoutMs * 4,
      success: (response) => {
        let data: unknown = response.data
        try {
          data = typeof data === 'string' && data ? JSON.parse(data) : data
        } catch {
          // not JSON (a proxy's error page): toResult explains it in plain words
        }
        const result = toResult(response.statusCode, data)
        if (result instanceof ApiError) reject(failure(result, token, options.silent))
        else resolve(result as ResponseOf<P, 'post'>)
      },
      fail: (error) => reject(failure(transportError(error?.errMsg), token, options.silent)),
    })
  })
}

function caller<M extends Method>(method: M) {
  return <P extends PathsWithMethod<paths, M>>(
    path: P,
    options?: RequestOptions<Operation<P, M>>,
  ): Promise<ResponseOf<P, M>> => send(method, path as string, options) as Promise<ResponseOf<P, M>>
}

/** `api.get('/api/v1/...', { params: { path, query } })`, `api.post(path, { body })`, `api.put`, `api.patch`, `api.delete`. */
export const api = {
  get: caller('get'),
  post: caller('post'),
  put: caller('put'),
  patch: caller('patch'),
  delete: caller('delete'),
}
