import { beforeEach, describe, expect, it, vi } from 'vitest'

import fs from 'node:fs'
import { fileURLToPath } from 'node:url'

import { initPreContext, preJs } from '@dcloudio/uni-cli-shared'

import { ApiError, api, buildUrl, configureRequest, upload, wireMethod } from '@/api/request'
import { clearSession, getToken, saveToken } from '@/stores/session'

import { fakeUni } from './fake-uni'

type RequestCall = {
  url: string
  method: string
  header: Record<string, string>
  data?: unknown
  success: (response: { statusCode: number; data: unknown; header?: Record<string, string> }) => void
  fail: (error: { errMsg: string }) => void
}

function answer(statusCode: number, data: unknown, header: Record<string, string> = {}) {
  fakeUni.request.mockImplementation((options: RequestCall) => options.success({ statusCode, data, header }))
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

describe('wireMethod', () => {
  it.each(['h5', 'mp-weixin', 'mp-alipay'] as const)('sends GET and POST as they are on %s', (platform) => {
    expect(wireMethod('get', platform)).toEqual({ method: 'GET' })
    expect(wireMethod('post', platform)).toEqual({ method: 'POST' })
  })

  it.each(['h5', 'mp-weixin', 'mp-alipay'] as const)('sends PATCH and DELETE as POST with the override on %s', (platform) => {
    expect(wireMethod('patch', platform)).toEqual({ method: 'POST', override: 'PATCH' })
    expect(wireMethod('delete', platform)).toEqual({ method: 'POST', override: 'DELETE' })
  })

  it('sends PUT natively on H5 and as POST with the override in the mini-programs', () => {
    expect(wireMethod('put', 'h5')).toEqual({ method: 'PUT' })
    expect(wireMethod('put', 'mp-weixin')).toEqual({ method: 'POST', override: 'PUT' })
    expect(wireMethod('put', 'mp-alipay')).toEqual({ method: 'POST', override: 'PUT' })
  })

  it('picks the platform of the build (conditional compilation of platform.ts)', () => {
    const source = fs.readFileSync(fileURLToPath(new URL('../src/utils/platform.ts', import.meta.url)), 'utf8')
    try {
      initPreContext('mp-alipay')
      expect(preJs(source, 'platform.ts')).toContain("platform = 'mp-alipay'")
    } finally {
      initPreContext(process.env.UNI_PLATFORM ?? 'h5')
    }
  })
})

describe('api', () => {
  const onUnauthenticated = vi.fn()
  const onPasswordChangeRequired = vi.fn()

  beforeEach(() => {
    clearSession()
    onUnauthenticated.mockClear()
    onPasswordChangeRequired.mockClear()
    configureRequest({ baseUrl: 'https://ihos.test', platform: 'h5', onUnauthenticated, onPasswordChangeRequired })
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
  })

  it('sends DELETE as POST with X-HTTP-Method-Override', async () => {
    answer(204, '')

    await api.delete('/api/v1/me/addresses/{address_id}', { params: { path: { address_id: 'a1' } } })

    expect(lastCall().method).toBe('POST')
    expect(lastCall().header['X-HTTP-Method-Override']).toBe('DELETE')
  })

  it('sends PATCH as POST with X-HTTP-Method-Override and the JSON body', async () => {
    answer(200, { id: 'a1' })

    await api.patch('/api/v1/me/addresses/{address_id}', {
      params: { path: { address_id: 'a1' } },
      body: { is_default: true },
    })

    expect(lastCall().url).toBe('https://ihos.test/api/v1/me/addresses/a1')
    expect(lastCall().method).toBe('POST')
    expect(lastCall().header['X-HTTP-Method-Override']).toBe('PATCH')
    expect(lastCall().header['Content-Type']).toBe('application/json')
    expect(lastCall().data).toEqual({ is_default: true })
  })

  it('sends PUT natively on H5', async () => {
    answer(204, '')

    await api.put('/api/v1/auth/password', { body: { current_password: 'a', new_password: 'b' } })

    expect(lastCall().method).toBe('PUT')
    expect(lastCall().header['X-HTTP-Method-Override']).toBeUndefined()
  })

  it.each(['mp-weixin', 'mp-alipay'] as const)('sends PUT as POST with the override in %s', async (platform) => {
    configureRequest({ platform })
    answer(204, '')

    await api.put('/api/v1/auth/password', { body: { current_password: 'a', new_password: 'b' } })

    expect(lastCall().method).toBe('POST')
    expect(lastCall().header['X-HTTP-Method-Override']).toBe('PUT')
    expect(lastCall().data).toEqual({ current_password: 'a', new_password: 'b' })
  })

  it('sends no override for GET and POST', async () => {
    answer(200, [])

    await api.get('/api/v1/me/addresses')

    expect(lastCall().method).toBe('GET')
    expect(lastCall().header['X-HTTP-Method-Override']).toBeUndefined()
  })

  it("keeps a 429's Retry-After, whatever the header's case", async () => {
    answer(429, { error: 'sms_too_frequent', message: '验证码发送太频繁，请 42 秒后再试' }, { 'retry-after': '42' })

    await expect(
      api.post('/api/v1/auth/sms-codes', { body: { phone: '13900000016', purpose: 'register' } }),
    ).rejects.toMatchObject({ code: 'sms_too_frequent', status: 429, retryAfter: 42 })
  })

  it('sends a patient who must change the password to the change-password page', async () => {
    saveToken('temporary')
    answer(403, { error: 'password_change_required', message: '请先修改密码' })

    await expect(api.get('/api/v1/me/patients', { silent: true })).rejects.toMatchObject({
      code: 'password_change_required',
    })
    expect(onPasswordChangeRequired).toHaveBeenCalledOnce()
    expect(getToken()).toBe('temporary')
  })

  it('does not send other refusals to the change-password page', async () => {
    saveToken('t')
    answer(403, { error: 'patients_only', message: '此功能仅供患者使用' })

    await expect(api.get('/api/v1/me/patients')).rejects.toMatchObject({ code: 'patients_only' })
    expect(onPasswordChangeRequired).not.toHaveBeenCalled()
  })

  it('returns undefined for 204 No Content', async () => {
    answer(204, '')

    await expect(api.post('/api/v1/auth/sign-out')).resolves.toBeUndefined()
  })
})

describe('upload', () => {
  type UploadCall = {
    url: string
    name?: string
    filePath?: string
    files?: { name: string; uri: string }[]
    header: Record<string, string>
    formData: Record<string, string>
    success: (response: { statusCode: number; data: string }) => void
    fail: (error: { errMsg: string }) => void
  }

  function lastUpload(): UploadCall {
    return fakeUni.uploadFile.mock.calls.at(-1)![0]
  }

  beforeEach(() => {
    clearSession()
    configureRequest({ baseUrl: 'https://ihos.test', platform: 'h5' })
  })

  it('sends every file in one multipart request on H5, with the token and the text fields', async () => {
    saveToken('secret-token')
    fakeUni.uploadFile.mockImplementation((options: UploadCall) =>
      options.success({ statusCode: 201, data: JSON.stringify({ id: 'r1', state: 'pending' }) }),
    )

    const review = await upload('/api/v1/me/real-name/review', {
      filePaths: ['blob:1', 'blob:2'],
      name: 'documents',
      formData: { name: '郭婷婷', id_number: '310104200012310429' },
    })

    expect(review).toEqual({ id: 'r1', state: 'pending' })
    expect(lastUpload().url).toBe('https://ihos.test/api/v1/me/real-name/review')
    expect(lastUpload().files).toEqual([
      { name: 'documents', uri: 'blob:1' },
      { name: 'documents', uri: 'blob:2' },
    ])
    expect(lastUpload().filePath).toBeUndefined()
    expect(lastUpload().header.Authorization).toBe('Bearer secret-token')
    expect(lastUpload().formData).toEqual({ name: '郭婷婷', id_number: '310104200012310429' })
  })

  it("turns the server's error JSON (a string from uploadFile) into an ApiError", async () => {
    fakeUni.uploadFile.mockImplementation((options: UploadCall) =>
      options.success({ statusCode: 409, data: JSON.stringify({ error: 'review_pending', message: '您的实名资料正在审核中，请耐心等待' }) }),
    )

    await expect(
      upload('/api/v1/me/real-name/review', { filePaths: ['blob:1'], name: 'documents', silent: true }),
    ).rejects.toMatchObject({ code: 'review_pending', status: 409 })
    expect(fakeUni.showToast).not.toHaveBeenCalled()
  })
})
