import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

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

describe('the locale file', () => {
  const srcDir = fileURLToPath(new URL('../src', import.meta.url))

  function sources(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) return sources(full)
      return /\.(vue|ts)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : []
    })
  }

  it('has every key the app asks for by name', () => {
    const messages = zhHans as Record<string, string>
    const missing: string[] = []
    for (const file of sources(srcDir)) {
      const text = fs.readFileSync(file, 'utf8')
      // t('key'), t("key") and keys held in constants ('signIn.withWeixin'); prefixes ending in '.' are dynamic
      for (const match of text.matchAll(/\bt\(\s*['"]([\w.]+)['"]/g)) {
        if (!match[1].endsWith('.') && !(match[1] in messages)) missing.push(`${path.relative(srcDir, file)}: ${match[1]}`)
      }
      for (const match of text.matchAll(/(?:label|key|MessageKey[^']*)\s*[:=]\s*'([a-zA-Z]+\.[\w.]+)'/g)) {
        if (!(match[1] in messages)) missing.push(`${path.relative(srcDir, file)}: ${match[1]}`)
      }
    }
    expect(missing).toEqual([])
  })

  it('has a label for every real-name status and sign-in method the server sends', () => {
    for (const status of ['unverified', 'pending_review', 'verified', 'rejected']) {
      expect(zhHans).toHaveProperty([`realName.status.${status}`])
    }
    for (const method of ['password', 'phone_password', 'sms_code', 'wechat', 'alipay', 'other']) {
      expect(zhHans).toHaveProperty([`sessions.method.${method}`])
    }
  })
})
