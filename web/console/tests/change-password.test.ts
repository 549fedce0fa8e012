import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'

import { setToken } from '@/auth/token'
import { i18n } from '@/i18n'
import { createConsoleRouter } from '@/router'
import { useSessionStore } from '@/stores/session'
import ChangePasswordView from '@/views/ChangePasswordView.vue'

import { fakeServer, json, me } from './helpers'

async function mountForcedChange() {
  setToken('t')
  const server = fakeServer({
    'GET /api/v1/auth/me': () => json(200, me({ must_change_password: true })),
    'PUT /api/v1/auth/password': () => new Response(null, { status: 204 }),
  })
  const pinia = createPinia()
  setActivePinia(pinia)
  const router = createConsoleRouter()
  await router.push('/profile')
  expect(router.currentRoute.value.name).toBe('change-password')
  const wrapper = mount(ChangePasswordView, { global: { plugins: [pinia, router, i18n] }, attachTo: document.body })
  return { wrapper, router, server }
}

describe('ChangePasswordView', () => {
  beforeEach(() => localStorage.clear())

  it('explains the password rule in Chinese and sends nothing', async () => {
    const { wrapper, server } = await mountForcedChange()

    await wrapper.find('form').trigger('submit')
    await flushPromises()

    await vi.waitFor(() => expect(wrapper.text()).toContain('新密码不符合要求'))
    expect(wrapper.text()).toContain('首次登录或密码已重置')
    expect(server.requests.filter((request) => request.method === 'PUT')).toHaveLength(0)
    wrapper.unmount()
  })

  it('changes the password and lets the user go on', async () => {
    const { wrapper, router, server } = await mountForcedChange()
    const inputs = wrapper.findAll('input')
    await inputs[0]!.setValue('Temp-Pass-1')
    await inputs[1]!.setValue('NewPass-2026!')
    await inputs[2]!.setValue('NewPass-2026!')

    await wrapper.find('form').trigger('submit')
    await flushPromises()

    const put = server.requests.find((request) => request.method === 'PUT')!
    expect(await put.json()).toEqual({ current_password: 'Temp-Pass-1', new_password: 'NewPass-2026!' })
    expect(useSessionStore().mustChangePassword).toBe(false)
    await vi.waitFor(() => expect(router.currentRoute.value.name).toBe('home'))
    wrapper.unmount()
  })
})
