/** The server's clock from the Date header of its answers: a phone's wrong clock must not shorten or stretch the hold time. */
import { afterEach, describe, expect, it } from 'vitest'

import { api, configureRequest, noteServerDate, serverNow } from '@/api/request'

import { fakeUni } from './fake-uni'

const RECEIVED = Date.parse('2026-11-27T06:00:00.000Z')

describe('serverNow', () => {
  afterEach(() => noteServerDate({ Date: new Date().toUTCString() }))

  it('follows a server whose clock is minutes away from the phone’s', () => {
    noteServerDate({ date: 'Fri, 27 Nov 2026 06:10:00 GMT' }, RECEIVED)
    expect(serverNow() - Date.now()).toBe(10 * 60_000 + 500)

    noteServerDate({ Date: 'Fri, 27 Nov 2026 05:40:00 GMT' }, RECEIVED)
    expect(serverNow() - Date.now()).toBe(-20 * 60_000 + 500)
  })

  it('ignores the header’s one-second precision and the network’s delay', () => {
    noteServerDate({ date: 'Fri, 27 Nov 2026 06:10:00 GMT' }, RECEIVED)
    noteServerDate({ date: 'Fri, 27 Nov 2026 05:59:58 GMT' }, RECEIVED)
    expect(serverNow() - Date.now()).toBe(0)
  })

  it('keeps what it knew when an answer has no readable Date', () => {
    noteServerDate({ date: 'Fri, 27 Nov 2026 06:10:00 GMT' }, RECEIVED)
    noteServerDate({ 'content-type': 'application/json' }, RECEIVED)
    noteServerDate({ date: 'yesterday' }, RECEIVED)
    noteServerDate(undefined, RECEIVED)
    expect(serverNow() - Date.now()).toBe(10 * 60_000 + 500)
  })

  it('is read from every answer of the API', async () => {
    configureRequest({ baseUrl: 'https://ihos.test', platform: 'h5' })
    const serverTime = new Date(Date.now() + 3_600_000)
    fakeUni.request.mockImplementation((options: { success: (response: unknown) => void }) =>
      options.success({ statusCode: 200, data: [], header: { Date: serverTime.toUTCString() } }),
    )
    await api.get('/api/v1/payments/channels')
    expect(Math.abs(serverNow() - serverTime.getTime())).toBeLessThan(2000)
  })
})
