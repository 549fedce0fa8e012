/**
 * The sign-in page keeps the WeChat / Alipay authorised sign-in (and its consent box) only in the
 * mini-program builds, checked with uni-app's own preprocessor as the build applies it.
 */
import fs from 'node:fs'
import { fileURLToPath } from 'node:url'

import { initPreContext, preHtml } from '@dcloudio/uni-cli-shared'
import { afterAll, describe, expect, it } from 'vitest'

const source = fs.readFileSync(fileURLToPath(new URL('../src/pages/auth/sign-in.vue', import.meta.url)), 'utf8')
const template = source.slice(source.indexOf('<template>'), source.indexOf('<script'))

function templateFor(platform: string): string {
  initPreContext(platform)
  return preHtml(template, 'sign-in.vue')
}

describe('sign-in page', () => {
  afterAll(() => initPreContext(process.env.UNI_PLATFORM ?? 'h5'))

  it.each(['mp-weixin', 'mp-alipay'])('offers the authorised sign-in with the consent box in %s', (platform) => {
    const html = templateFor(platform)
    expect(html).toContain('@click="signInAuthorised"')
    expect(html).toContain('<CheckBox v-model="agreed" test="agree">')
  })

  it('offers only the phone and password forms on H5', () => {
    const html = templateFor('h5')
    expect(html).not.toContain('signInAuthorised')
    expect(html).toContain('purpose="sign_in"')
  })
})
