import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'

import { getToken } from '@/auth/token'
import { i18n } from '@/i18n'
import { createConsoleRouter } from '@/router'
import SignInView from '@/views/SignInView.vue'

import { fakeServer, json, me, staffSignedIn } from './helpers'

async function mountSignIn() {
  const pinia = createPinia()
  setActivePinia(pinia)
  const router = createConsoleRouter()
  await router.push('/sign-in')
  const wrapper = mount(SignInView, { global: { plugins: [pinia, router, i18n] }, attachTo: document.body })
  return { wrapper, router }
}

type Wrapper = Awaited<ReturnType<typeof mountSignIn>>['wrapper']

async function submit(wrapper: Wrapper, values: string[]) {
  const inputs = wrapper.findAll('input')
  for (const [index, value] of values.entries()) if (value) await inputs[index]!.setValue(value)
  await wrapper.find('form').trigger('submit')
  await flushPromises()
}

describe('SignInView', () => {
  beforeEach(() => localStorage.clear())

  it('asks for the TOTP code when the server answers totp_required, then signs in', async () => {
    const server = fakeServer({
      'POST /api/v1/auth/staff/sign-in': async (request) => {
        const body = await request.json()
        if (!body.totp_code) return json(401, { error: 'totp_required', message: '请输入身份验证器中的6位动态码' })
        return json(200, staffSignedIn())
      },
      'GET /api/v1/auth/me': () => json(200, me({ roles: ['system_admin'] })),
    })
    const { wrapper, router } = await mountSignIn()
    expect(wrapper.findAll('input')).toHaveLength(2)

    await submit(wrapper, ['admin', 'Secret-123'])
    expect(wrapper.text()).toContain('动态验证码')
    expect(wrapper.findAll('input')).toHaveLength(3)

    await submit(wrapper, ['', '', '123456'])

    const signIn = server.requests.filter((request) => request.url.endsWith('/staff/sign-in')).at(-1)!
    expect(await signIn.json()).toEqual({ username: 'admin', password: 'Secret-123', totp_code: '123456' })
    expect(getToken()).toBe('new-token')
    // The home page loads lazily: wait for the navigation to land.
    await vi.waitFor(() => expect(router.currentRoute.value.name).toBe('home'))
    wrapper.unmount()
  })

  it('walks an administrator without an authenticator through enrolment', async () => {
    const server = fakeServer({
      'POST /api/v1/auth/staff/sign-in': () =>
        json(200, {
          ...staffSignedIn({ status: 'totp_enrolment_required', token: null }),
          totp_enrolment_secret: 'JBSWY3DPEHPK3PXP',
          totp_enrolment_uri: 'otpauth://totp/ihos:admin?secret=JBSWY3DPEHPK3PXP',
        }),
      'POST /api/v1/auth/staff/totp/enrol': () => json(200, staffSignedIn({ must_change_password: true })),
      'GET /api/v1/auth/me': () => json(200, me({ roles: ['security_admin'], must_change_password: true })),
    })
    const { wrapper, router } = await mountSignIn()

    await submit(wrapper, ['admin', 'Secret-123'])
    expect(wrapper.find('[data-test="totp-secret"]').text()).toBe('JBSW Y3DP EHPK 3PXP')

    await submit(wrapper, ['654321'])

    const enrol = server.requests.find((request) => request.url.endsWith('/staff/totp/enrol'))!
    expect(await enrol.json()).toEqual({ username: 'admin', password: 'Secret-123', totp_code: '654321' })
    await vi.waitFor(() => expect(router.currentRoute.value.name).toBe('change-password'))
    wrapper.unmount()
  })

  it("shows the server's message for wrong credentials", async () => {
    fakeServer({
      'POST /api/v1/auth/staff/sign-in': () => json(401, { error: 'invalid_credentials', message: '用户名或密码错误' }),
    })
    const { wrapper } = await mountSignIn()

    await submit(wrapper, ['admin', 'wrong'])

    expect(wrapper.text()).toContain('用户名或密码错误')
    expect(getToken()).toBeNull()
    wrapper.unmount()
  })
})
