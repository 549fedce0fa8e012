import { describe, expect, it } from 'vitest'

import { i18n } from '@/i18n'
import { deskRoutes } from '@/router/desks'
import { labelOf } from '@/utils/labels'
import { describeAgent } from '@/views/profile/agent'

// Every source file's text, through Vite (the tests run without Node's types).
const SOURCES = import.meta.glob(['../src/**/*.vue', '../src/**/*.ts', '!../src/**/*.d.ts'], {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>

describe('the locale file', () => {
  it('has every key the code asks for by name', () => {
    const missing: string[] = []
    expect(Object.keys(SOURCES).length).toBeGreaterThan(30)
    for (const [file, text] of Object.entries(SOURCES)) {
      for (const match of text.matchAll(/\bt\(\s*'([a-zA-Z][\w.]*)'/g)) {
        if (!i18n.global.te(match[1]!)) missing.push(`${file}: ${match[1]}`)
      }
      for (const match of text.matchAll(/'((?:validation|organization|roles|rules|dictionaries|photo|audit)\.[a-zA-Z]+)'/g)) {
        if (!i18n.global.te(match[1]!) && !/^audit\.read$/.test(match[1]!)) missing.push(`${file}: ${match[1]}`)
      }
    }
    expect(missing).toEqual([])
  })

  it('titles and describes every desk', () => {
    for (const desk of deskRoutes) {
      expect(i18n.global.te(desk.meta!.title!), String(desk.name)).toBe(true)
      if (desk.meta!.menu && desk.name !== 'home') expect(i18n.global.te(`deskHints.${String(desk.name)}`), String(desk.name)).toBe(true)
    }
  })

  it('names codes in Chinese and shows unknown ones as they are', () => {
    expect(labelOf('roleNames', 'customer_service')).toBe('客服')
    expect(labelOf('permissionNames', 'patient.password_reset')).toBe('重置患者密码')
    expect(labelOf('auditActions', 'staff.profile_update')).toBe('修改个人资料')
    expect(labelOf('auditActions', 'billing.refund_approve')).toBe('billing.refund_approve')
    expect(labelOf('sex', null)).toBe('—')
  })

  it('names sign-in devices briefly', () => {
    expect(describeAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36')).toBe('Chrome · Windows')
    expect(describeAgent('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 MicroMessenger/8.0')).toBe('微信 · iOS')
    expect(describeAgent(null)).toBe('未知设备')
  })
})
