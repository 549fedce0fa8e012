/**
 * The console's only way to the server: openapi-fetch typed with the paths generated from the
 * backend's OpenAPI document (schema.d.ts), plus the bearer token.
 *
 *   const session = await call(client.GET('/api/v1/auth/staff/session'))
 *
 * `call` returns the body of a 2xx answer or throws an `ApiError` with the server's stable `code` and
 * its Chinese `message`, shown to the user with ElMessage unless `{ silent: true }` (the page shows
 * it itself, e.g. next to a form).
 */
import { ElMessage } from 'element-plus'
import createClient, { type Middleware } from 'openapi-fetch'

import { clearToken, getToken } from '@/auth/token'
import { t } from '@/i18n'

import type { paths } from './schema'

export class ApiError extends Error {
  /** The server's stable error code (`invalid_input`, `totp_required`…), or `network_error`, `http_<status>`. */
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

let onUnauthenticated: () => void = () => {}

/** What to do after the server refused the token (401): the session store signs out and shows sign-in. */
export function setUnauthenticatedHandler(handler: () => void): void {
  onUnauthenticated = handler
}

const bearerToken: Middleware = {
  onRequest({ request }) {
    const token = getToken()
    if (token && !request.headers.has('Authorization')) request.headers.set('Authorization', `Bearer ${token}`)
    return request
  },
}

export const client = createClient<paths>({
  baseUrl: '',
  // Looked up per request so that tests can stub the global fetch.
  fetch: (request) => globalThis.fetch(request),
})
client.use(bearerToken)

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

export function toApiError(status: number, body: unknown): ApiError {
  if (isErrorBody(body)) return new ApiError(body.error, body.message, status, body.details)
  return new ApiError(`http_${status}`, status >= 500 ? t('errors.server') : t('errors.unknown'), status)
}

export interface CallOptions {
  /** Do not show the error message; the caller shows it where it belongs. */
  silent?: boolean
}

/** Waits for an openapi-fetch call and returns its data, or throws (and shows) an `ApiError`. */
export async function call<Data>(
  pending: Promise<{ data?: Data; error?: unknown; response: Response }>,
  options: CallOptions = {},
): Promise<Data> {
  let result: { data?: Data; error?: unknown; response: Response }
  try {
    result = await pending
  } catch {
    const error = new ApiError('network_error', t('errors.network'), 0)
    if (!options.silent) ElMessage.error(error.message)
    throw error
  }
  const { response } = result
  if (response.ok) return result.data as Data
  const error = toApiError(response.status, result.error)
  if (response.status === 401 && getToken()) {
    clearToken()
    onUnauthenticated()
  }
  if (!options.silent) ElMessage.error(error.message)
  throw error
}
