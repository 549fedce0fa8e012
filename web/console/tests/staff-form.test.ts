import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'

import { i18n } from '@/i18n'
import { useReferenceStore } from '@/stores/reference'
import StaffFormDialog from '@/views/organization/StaffFormDialog.vue'

import { fakeServer } from './helpers'

function setUp() {
  const pinia = createPinia()
  setActivePinia(pinia)
  const reference = useReferenceStore()
  reference.roles = [
    { code: 'doctor', name: '医生', description: null, permissions: ['patient.read'], is_campus_scoped: true, is_builtin: true, is_admin: false },
    { code: 'security_admin', name: '安全管理员', description: null, permissions: ['staff.manage'], is_campus_scoped: false, is_builtin: true, is_admin: true },
  ]
  reference.campuses = [{ id: 'c1', hospital_id: 'h1', code: 'MAIN', name: '本部院区', address: null, phone: null, sort_order: 0, is_active: true }]
  const server = fakeServer({})
  const wrapper = mount(StaffFormDialog, {
    props: { open: true, staff: null },
    global: { plugins: [pinia, i18n] },
    attachTo: document.body,
  })
  return { wrapper, server, reference }
}

async function type(label: string, value: string) {
  const item = [...document.querySelectorAll('.el-form-item')].find(
    (candidate) => candidate.querySelector('.el-form-item__label')?.textContent?.trim() === label,
  )
  const input = item?.querySelector<HTMLInputElement>('input')
  if (!input) throw new Error(`no field ${label}`)
  input.value = value
  input.dispatchEvent(new Event('input'))
  await flushPromises()
}

function save() {
  ;[...document.querySelectorAll<HTMLButtonElement>('.el-dialog button')].find((b) => b.textContent?.trim() === '保存')!.click()
}

describe('StaffFormDialog', () => {
  beforeEach(() => {
    localStorage.clear()
    document.body.innerHTML = ''
  })

  it('says what is missing and sends nothing', async () => {
    const { wrapper, server } = setUp()
    await flushPromises()

    save()
    await flushPromises()

    await vi.waitFor(() => {
      const text = document.body.textContent ?? ''
      expect(text).toContain('请输入姓名')
      expect(text).toContain('请输入编码')
      expect(text).toContain('请输入用户名')
      expect(text).toContain('请至少选择一个角色')
    })
    expect(server.requests).toHaveLength(0)
    wrapper.unmount()
  })

  it('checks the username and phone the way the server does', async () => {
    const { wrapper, server } = setUp()
    await flushPromises()
    await type('用户名', 'zx')
    await type('手机号', '12345')

    save()
    await flushPromises()

    await vi.waitFor(() => {
      const text = document.body.textContent ?? ''
      expect(text).toContain('用户名须以字母开头')
      expect(text).toContain('请输入正确的 11 位手机号码')
    })
    expect(server.requests).toHaveLength(0)
    wrapper.unmount()
  })

  it('offers business roles only: administrators come from the command line', async () => {
    const { wrapper, reference } = setUp()
    expect(reference.assignableRoles.map((role) => role.code)).toEqual(['doctor'])
    wrapper.unmount()
  })
})
