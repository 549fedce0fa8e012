import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'

import UnmaskDialog from '@/components/UnmaskDialog.vue'
import { setToken } from '@/auth/token'
import { i18n } from '@/i18n'

import { fakeServer, json } from './helpers'

const PATIENT = '01a21d28-f854-7f03-9cd2-e61ee27c90ef'

function mountDialog() {
  return mount(UnmaskDialog, {
    props: { open: true, patientId: PATIENT },
    global: { plugins: [i18n] },
    attachTo: document.body,
  })
}

function dialogButton(label: string): HTMLButtonElement {
  const button = [...document.querySelectorAll<HTMLButtonElement>('.el-dialog button')].find((b) => b.textContent?.trim() === label)
  if (!button) throw new Error(`no button ${label}`)
  return button
}

describe('UnmaskDialog', () => {
  beforeEach(() => {
    localStorage.clear()
    document.body.innerHTML = ''
    setToken('t')
  })

  it('asks for a reason and sends nothing without one', async () => {
    const server = fakeServer({})
    const wrapper = mountDialog()
    await flushPromises()

    dialogButton('查看').click()
    await flushPromises()

    await vi.waitFor(() => expect(document.body.textContent).toContain('请填写查看原因'))
    expect(server.requests).toHaveLength(0)
    expect(wrapper.emitted('revealed')).toBeUndefined()
    wrapper.unmount()
  })

  it('sends the reason and hands the full values over', async () => {
    const unmasked = { id: PATIENT, name: '张伟', id_number: '110105198503120135', phone: '13900000001' }
    const server = fakeServer({ [`POST /api/v1/patients/${PATIENT}/unmask`]: () => json(200, unmasked) })
    const wrapper = mountDialog()
    await flushPromises()

    const reason = document.querySelector<HTMLTextAreaElement>('.el-dialog textarea')!
    reason.value = '  患者来电核对身份 '
    reason.dispatchEvent(new Event('input'))
    dialogButton('查看').click()
    await flushPromises()

    await vi.waitFor(() => expect(wrapper.emitted('revealed')).toEqual([[unmasked]]))
    expect(await server.requests[0]!.json()).toEqual({ reason: '患者来电核对身份' })
    expect(wrapper.emitted('close')).toHaveLength(1)
    wrapper.unmount()
  })

  it("shows the server's refusal and reveals nothing", async () => {
    fakeServer({
      [`POST /api/v1/patients/${PATIENT}/unmask`]: () => json(403, { error: 'forbidden', message: '您没有执行此操作的权限' }),
    })
    const wrapper = mountDialog()
    await flushPromises()

    const reason = document.querySelector<HTMLTextAreaElement>('.el-dialog textarea')!
    reason.value = '核对身份'
    reason.dispatchEvent(new Event('input'))
    dialogButton('查看').click()
    await flushPromises()

    await vi.waitFor(() => expect(document.body.textContent).toContain('您没有执行此操作的权限'))
    expect(wrapper.emitted('revealed')).toBeUndefined()
    wrapper.unmount()
  })
})
