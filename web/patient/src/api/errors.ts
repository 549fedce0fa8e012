/** Turning whatever a call threw into words for the patient. */
import { t } from '../locale'
import { ApiError } from './request'

/** The server's message (already written for patients), or a plain sentence for anything else. */
export function messageOf(caught: unknown): string {
  return caught instanceof ApiError ? caught.message : t('error.unknown')
}

/** The server's error code, or '' when the call did not get an answer from the API. */
export function codeOf(caught: unknown): string {
  return caught instanceof ApiError ? caught.code : ''
}
