import fs from 'node:fs'
import { fileURLToPath } from 'node:url'

import { initPreContext, preJs } from '@dcloudio/uni-cli-shared'
import { afterAll, describe, expect, it } from 'vitest'

import { currentPlatform, loginMethod, loginMethodFor, miniProgramAuthCode } from '@/utils/platform'

const source = fs.readFileSync(fileURLToPath(new URL('../src/utils/platform.ts', import.meta.url)), 'utf8')

function compiledFor(platform: string): string {
  initPreContext(platform)
  return preJs(source, 'platform.ts')
}

describe('loginMethodFor', () => {
  it.each([
    ['mp-weixin', 'weixin'],
    ['mp-alipay', 'alipay'],
    ['h5', 'phone'],
  ] as const)('%s signs in with %s', (platform, method) => {
    expect(loginMethodFor(platform)).toBe(method)
  })
})

describe('conditional compilation', () => {
  afterAll(() => initPreContext(process.env.UNI_PLATFORM ?? 'h5'))

  it('keeps only wx.login in the WeChat build', () => {
    const code = compiledFor('mp-weixin')
    expect(code).toContain("platform = 'mp-weixin'")
    expect(code).toContain('wx.login(')
    expect(code).not.toContain('my.getAuthCode(')
  })

  it('keeps only my.getAuthCode in the Alipay build', () => {
    const code = compiledFor('mp-alipay')
    expect(code).toContain("platform = 'mp-alipay'")
    expect(code).toContain('my.getAuthCode(')
    expect(code).not.toContain('wx.login(')
  })

  it('keeps neither in the H5 build', () => {
    const code = compiledFor('h5')
    expect(code).not.toContain('wx.login(')
    expect(code).not.toContain('my.getAuthCode(')
  })
})

describe('under the H5 build these tests run as', () => {
  it('uses the phone sign-in', () => {
    expect(currentPlatform()).toBe('h5')
    expect(loginMethod()).toBe('phone')
  })

  it('has no mini-program auth code', async () => {
    await expect(miniProgramAuthCode()).rejects.toThrow('not available on H5')
  })
})
