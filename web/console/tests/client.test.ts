import { beforeEach, describe, expect, it, vi } from 'vitest'

const { messageError } = vi.hoisted(() => ({ messageError: vi.fn() }))
vi.mock('element-plus', async (importOriginal) => ({
  ...(await importOriginal<typeof import('element-plus')>()),
  ElMessage: { error: messageError, success: vi.fn() },
}))

import { ApiError, call, client, setUnauthenticatedHandler } from '@/api/client'
import { getToken, setToken } from '@/auth/token'

import { fakeServer, json, me } from './helpers'

describe('call', () => {
  const unauthenticated = vi.fn()

  beforeEach(() => {
    localStorage.clear()
    messageError.mockClear()
    unauthenticated.mockClear()
    setUnauthenticatedHandler(unauthenticated)
  })

  it('sends the bearer token and returns the typed body', async () => {
    setToken('secret')
    const server = fakeServer({ 'GET /api/v1/auth/me': () => json(200, me()) })

    const current = await call(client.GET('/api/v1/auth/me'))

    expect(current.label).toBe('王医生')
    expect(server.requests[0]!.headers.get('Authorization')).toBe('Bearer secret')
  })

  it("throws the server's code and shows its message", async () => {
    fakeServer({
      'PUT /api/v1/auth/password': () => json(400, { error: 'weak_password', message: '密码强度不够' }),
    })

    const error = await call(
      client.PUT('/api/v1/auth/password', { body: { current_password: 'a', new_password: 'b' } }),
    ).catch((caught: unknown) => caught)

    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ code: 'weak_password', message: '密码强度不够', status: 400 })
    expect(messageError).toHaveBeenCalledWith('密码强度不够')
  })

  it('stays quiet when asked to', async () => {
    fakeServer({ 'GET /api/v1/auth/me': () => json(403, { error: 'forbidden', message: '无权访问' }) })

    await expect(call(client.GET('/api/v1/auth/me'), { silent: true })).rejects.toMatchObject({
      code: 'forbidden',
    })
    expect(messageError).not.toHaveBeenCalled()
  })

  it('says the server is unavailable when a 5xx has no error body', async () => {
    fakeServer({ 'GET /api/v1/auth/me': () => new Response('Bad Gateway', { status: 502 }) })

    await expect(call(client.GET('/api/v1/auth/me'))).rejects.toMatchObject({
      code: 'http_502',
      message: '服务暂时不可用，请稍后重试',
    })
  })

  it('reports a lost connection in words', async () => {
    vi.stubGlobal('fetch', vi.fn().mockRejectedValue(new TypeError('Failed to fetch')))

    await expect(call(client.GET('/api/v1/auth/me'))).rejects.toMatchObject({
      code: 'network_error',
      message: '网络连接失败，请检查网络后重试',
    })
  })

  it('forgets a token the server refuses', async () => {
    setToken('expired')
    fakeServer({ 'GET /api/v1/auth/me': () => json(401, { error: 'unauthenticated', message: '请先登录' }) })

    await expect(call(client.GET('/api/v1/auth/me'))).rejects.toMatchObject({ status: 401 })
    expect(getToken()).toBeNull()
    expect(unauthenticated).toHaveBeenCalledOnce()
  })
})
