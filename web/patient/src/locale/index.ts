/**
 * Strings shown to patients, looked up by key from the locale files in this folder.
 *
 * The same files feed uni-app's own `%key%` substitution in pages.json (page titles, tab bar), so one
 * flat key space serves templates, scripts and page configuration on H5 and in both mini-programs.
 * `zh-Hans` is uni-app's name for Simplified Chinese (zh-CN).
 */
import zhHans from './zh-Hans.json'

export type MessageKey = keyof typeof zhHans

const messages: Record<string, string> = zhHans

/** Returns the message for `key`, with `{name}` placeholders filled from `params`; unknown keys come back as-is. */
export function t(key: MessageKey | (string & {}), params?: Record<string, string | number>): string {
  const message = messages[key] ?? key
  if (!params) return message
  return message.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  )
}
