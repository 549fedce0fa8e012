import { flushPromises, mount } from '@vue/test-utils'
import { ElMessageBox } from 'element-plus'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'

import { setToken } from '@/auth/token'
import { i18n } from '@/i18n'
import QueuesDesk from '@/views/queue/QueuesDesk.vue'

import { fakeServer, json } from './helpers'

const CAMPUS = '33333333-3333-3333-3333-333333333333'
const DEPARTMENT = '44444444-4444-4444-4444-444444444444'

function row(id: string, kind: string, code: string, name: string, counts: Record<string, number> = {}) {
  return {
    queue: { id, kind, campus_id: CAMPUS, department_id: DEPARTMENT, code, name, place: name, is_active: true, last_seq: 0 },
    waiting: 0,
    called: 0,
    in_visit: 0,
    done: 0,
    missed: 0,
    left: 0,
    my_session_ids: [],
    other_doctors_session_ids: [],
    ...counts,
  }
}

function server() {
  return fakeServer({
    'GET /api/v1/queues': () => json(200, [row('q1', 'room', 'A101', '内科 A101', { waiting: 3, done: 5 }), row('q2', 'exam', 'CT01', 'CT室')]),
    'GET /api/v1/organisation/campuses': () => json(200, [{ id: CAMPUS, name: '总院', code: 'main' }]),
    [`GET /api/v1/organisation/campuses/${CAMPUS}/departments`]: () => json(200, [{ id: DEPARTMENT, name: '心血管内科', children: [] }]),
    'PATCH /api/v1/queues/q2': async (request) => json(200, { ...row('q2', 'exam', 'CT01', 'CT室').queue, ...(await request.json()) }),
  })
}

async function desk() {
  mount(QueuesDesk, { global: { plugins: [i18n, createPinia()] }, attachTo: document.body })
  await flushPromises()
}

describe('the queues desk', () => {
  beforeEach(() => {
    localStorage.clear()
    setToken('token')
    setActivePinia(createPinia())
    vi.unstubAllGlobals()
    vi.restoreAllMocks()
    document.body.innerHTML = ''
  })

  it("lists the campus's queues with their kind, department and today's counts", async () => {
    server()
    await desk()
    const text = document.querySelector('[data-test=queue-list]')!.textContent!
    for (const shown of ['内科 A101', '诊室', 'CT室', '检查', 'CT01', '心血管内科', '候诊 3 · 完成 5']) expect(text).toContain(shown)
  })

  it('switches a queue off after confirming, and renames one', async () => {
    const { requests } = server()
    const confirm = vi.spyOn(ElMessageBox, 'confirm').mockResolvedValue('confirm' as never)
    await desk()
    ;(document.querySelector('[data-test=queue-off-CT01]') as HTMLElement).click()
    await flushPromises()
    expect(confirm).toHaveBeenCalledOnce()
    const off = requests.find((r) => r.method === 'PATCH')!
    expect(await off.json()).toEqual({ is_active: false })

    ;(document.querySelector('[data-test=queue-edit-CT01]') as HTMLElement).click()
    await flushPromises()
    const name = document.querySelector("input[data-test=queue-name]") as HTMLInputElement
    name.value = 'CT室（一）'
    name.dispatchEvent(new Event('input'))
    ;(document.querySelector('[data-test=queue-save]') as HTMLElement).click()
    await flushPromises()
    const renamed = requests.filter((r) => r.method === 'PATCH')[1]!
    expect(await renamed.json()).toEqual({ name: 'CT室（一）', place: 'CT室' })
  })

  it('edits the queue rules through the queue-rules API, not the booking rules', async () => {
    const rule = { key: 'queue.grace_minutes', label: '迟到宽限', value: 30, default: 30, minimum: 0, maximum: 240, unit: '分钟', description: '超过即为迟到', is_overridden: false }
    const { requests } = fakeServer({
      'GET /api/v1/queues': () => json(200, []),
      'GET /api/v1/queue-rules': () => json(200, [rule]),
      'PUT /api/v1/queue-rules/queue.grace_minutes': async (request) => json(200, { ...rule, ...(await request.json()) }),
    })
    vi.spyOn(ElMessageBox, 'confirm').mockResolvedValue('confirm' as never)
    await desk()
    ;(document.querySelector('#tab-rules') as HTMLElement).click()
    await flushPromises()
    expect(document.querySelector('[data-test=rules]')!.textContent).toContain('迟到宽限')
    const input = document.querySelector('[data-test=rules] input') as HTMLInputElement
    input.value = '20'
    input.dispatchEvent(new Event('input'))
    input.dispatchEvent(new Event('change'))
    await flushPromises()
    const saveButton = [...document.querySelectorAll('[data-test=rules] button')].find((b) => b.textContent?.includes('保存')) as HTMLElement
    saveButton.click()
    await flushPromises()
    const put = requests.find((r) => r.method === 'PUT')!
    expect(new URL(put.url).pathname).toBe('/api/v1/queue-rules/queue.grace_minutes')
    expect(await put.json()).toEqual({ value: 20 })
  })

  it('asks before switching off, and a cancel changes nothing', async () => {
    const { requests } = server()
    vi.spyOn(ElMessageBox, 'confirm').mockRejectedValue('cancel')
    await desk()
    ;(document.querySelector('[data-test=queue-off-A101]') as HTMLElement).click()
    await flushPromises()
    expect(requests.filter((r) => r.method === 'PATCH')).toHaveLength(0)
  })
})
