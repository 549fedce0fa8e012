/** All strings of the console come from the locale files in ./locales (Simplified Chinese first). */
import { createI18n } from 'vue-i18n'

import zhCN from './locales/zh-CN.json'

export type MessageSchema = typeof zhCN

export const i18n = createI18n<[MessageSchema], 'zh-CN', false>({
  legacy: false,
  locale: 'zh-CN',
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN },
})

/** For code outside components (API errors, guards); components use `useI18n().t` or `$t`. */
export const t = i18n.global.t
