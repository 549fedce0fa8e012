import { describe, expect, it } from 'vitest'

import { t } from '@/locale'
import zhHans from '@/locale/zh-Hans.json'

describe('t', () => {
  it('returns the Chinese message for a key', () => {
    expect(t('tab.home')).toBe('首页')
  })

  it('fills {name} placeholders and leaves unknown ones', () => {
    expect(t('x {a} {b}' as never, { a: 1 })).toBe('x 1 {b}')
  })

  it('returns an unknown key as-is', () => {
    expect(t('no.such.key')).toBe('no.such.key')
  })

  it('has no empty message', () => {
    expect(Object.entries(zhHans).filter(([, message]) => !message.trim())).toEqual([])
  })
})
