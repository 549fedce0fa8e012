import { beforeEach, describe, expect, it, vi } from 'vitest'

import { ApiError, api, buildUrl, configureRequest } from '@/api/request'
import { clearSession, getToken, saveToken } from '@/stores/session'

import { fakeUni } from './fake-uni'

type RequestCall = {
  url: string
  method: string
  header: Record<string, string>
  data?: unknown
  success: (response: { statusCode: number; data: unknown }) => void
  fail: (error: { errMsg: string }) => void
}

function answer(statusCode: number, data: unknown) {
  fakeUni.request.mockImplementation((options: RequestCall) => options.success({ statusCode, data }))
}

function lastCall(): RequestCall {
  return fakeUni.request.mock.calls.at(-1)![0]
}

describe('buildUrl', () => {
  it('fills path parameters and appends the query in key order, skipping empty values', () => {
    expect(buildUrl('/a/{id}/b', { path: { id: 'x y' }, query: { z: 1, a: [2, 3], n: null } })).toBe(
      '/a/x%20y/b?a=2&a=3&z=1',
    )
  })

  it('refuses a missing path parameter', () => {
    expect(() => buildUrl('/a/{id}', {})).toThrow('missing path parameter id')
  })
})

describe('api', () => {
  const onUnauthenticated = vi.fn()

  beforeEach(() => {
    clearSession()
    onUnauthenticated.mockClear()
    configureRequest({ baseUrl: 'https://ihos.test', onUnauthenticated })
  })

  it('sends the bearer token and returns the JSON body', async () => {
    saveToken('secret-token')
    answer(200, { kind: 'patient', id: 'a1', label: '138****0000', roles: [], permissions: [], campus_ids: null, must_change_password: false })

    const me = await api.get('/api/v1/auth/me')

    expect(me.label).toBe('138****0000')
    expect(lastCall().url).toBe('https://ihos.test/api/v1/auth/me')
    expect(lastCall().method).toBe('GET')
    expect(lastCall().header.Authorization).toBe('Bearer secret-token')
  })

  it('sends no token for anonymous calls and posts the JSON body', async () => {
    saveToken('secret-token')
    answer(200, { token: 't', expires_at: '2030-01-01T00:00:00Z', is_new_account: true, account: {} })

    await api.post('/api/v1/auth/sign-in/wechat', { body: { code: 'wx-code' }, anonymous: true })

    expect(lastCall().header.Authorization).toBeUndefined()
    expect(lastCall().data).toEqual({ code: 'wx-code' })
  })

  it("turns the server's error JSON into an ApiError and shows its message", async () => {
    answer(409, { error: 'slot_taken', message: '该号源已被预约', details: { slot_id: 's1' } })

    const error = await api.get('/api/v1/auth/me').catch((caught: unknown) => caught)

    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ code: 'slot_taken', message: '该号源已被预约', status: 409, details: { slot_id: 's1' } })
    expect(fakeUni.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '该号源已被预约', icon: 'none' }))
  })

  it('shows nothing when the caller handles the error itself', async () => {
    answer(400, { error: 'invalid_input', message: '输入的内容有误' })

    await expect(api.get('/api/v1/auth/me', { silent: true })).rejects.toMatchObject({
      code: 'invalid_input',
    })
    expect(fakeUni.showToast).not.toHaveBeenCalled()
  })

  it('explains an answer without error JSON in plain words', async () => {
    answer(502, '<html>Bad Gateway</html>')

    await expect(api.get('/api/v1/auth/me')).rejects.toMatchObject({
      code: 'http_502',
      message: '服务暂时不可用，请稍后重试',
    })
  })

  it('reports a lost connection as network_error', async () => {
    fakeUni.request.mockImplementation((options: RequestCall) => options.fail({ errMsg: 'request:fail' }))

    await expect(api.get('/api/v1/auth/me')).rejects.toMatchObject({
      code: 'network_error',
      status: 0,
      message: '网络连接失败，请检查网络后重试',
    })
  })

  it('signs out and asks for sign-in when the server no longer accepts the token', async () => {
    saveToken('expired-token')
    answer(401, { error: 'unauthenticated', message: '请先登录' })

    await expect(api.get('/api/v1/auth/me')).rejects.toMatchObject({ code: 'unauthenticated' })
    expect(getToken()).toBeNull()
    expect(onUnauthenticated).toHaveBeenCalledOnce()
  })

  it('fills path parameters', async () => {
    answer(204, '')

    await api.delete('/api/v1/me/addresses/{address_id}', { params: { path: { address_id: 'ad 1' } } })

    expect(lastCall().url).toBe('https://ihos.test/api/v1/me/addresses/ad%201')
    expect(lastCall().method).toBe('DELETE')
  })

  it('returns undefined for 204 No Content', async () => {
    answer(204, '')

    await expect(api.post('/api/v1/auth/sign-out')).resolves.toBeUndefined()
  })
})
