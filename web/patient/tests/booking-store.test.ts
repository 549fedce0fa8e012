import { beforeEach, describe, expect, it } from 'vitest'

import { api } from '@/api/request'
import { finishAttempt, loadCampuses, requestKeyFor, resetBooking } from '@/stores/booking'
import { saveToken } from '@/stores/session'

import { fakeUni } from './fake-uni'

type RequestCall = {
  url: string
  header: Record<string, string>
  success: (response: { statusCode: number; data: unknown; header?: Record<string, string> }) => void
}

const CHOICE = { sessionId: 's1', segment: '2026-11-29T00:30:00Z', patientId: 'p1', visitKind: 'first' }

beforeEach(() => {
  resetBooking()
})

describe('requestKeyFor', () => {
  it('gives a retried tap of the same choice the same key', () => {
    expect(requestKeyFor({ ...CHOICE })).toBe(requestKeyFor({ ...CHOICE }))
  })

  it('gives a new key once the attempt is finished', () => {
    const first = requestKeyFor(CHOICE)
    finishAttempt()
    expect(requestKeyFor(CHOICE)).not.toBe(first)
  })

  it('gives another choice another key', () => {
    const first = requestKeyFor(CHOICE)
    expect(requestKeyFor({ ...CHOICE, segment: '2026-11-29T01:00:00Z' })).not.toBe(first)
    expect(requestKeyFor({ ...CHOICE, patientId: 'p2' })).not.toBe(first)
  })

  it('travels as the Idempotency-Key header of the hold, beside the token', async () => {
    saveToken('token-1')
    fakeUni.request.mockImplementation((options: RequestCall) => options.success({ statusCode: 201, data: { id: 'b1' } }))
    const key = requestKeyFor(CHOICE)
    await api.post('/api/v1/me/bookings', {
      body: { clinic_session_id: 's1', patient_id: 'p1', segment_starts_at: CHOICE.segment, visit_kind: 'first' },
      headers: { 'Idempotency-Key': key },
    })
    const call: RequestCall = fakeUni.request.mock.calls.at(-1)![0]
    expect(call.header['Idempotency-Key']).toBe(key)
    expect(call.header.Authorization).toBe('Bearer token-1')
  })
})

describe('loadCampuses', () => {
  it('asks the server once per app start', async () => {
    fakeUni.request.mockImplementation((options: RequestCall) => options.success({ statusCode: 200, data: [{ id: 'main' }] }))
    await loadCampuses()
    await loadCampuses()
    expect(fakeUni.request).toHaveBeenCalledTimes(1)
    expect(fakeUni.request.mock.calls[0][0].url).toBe('/api/v1/clinics/campuses')
  })

  it('asks again after a failure', async () => {
    fakeUni.request.mockImplementationOnce((options: RequestCall) =>
      options.success({ statusCode: 503, data: { error: 'unavailable', message: '服务暂时不可用' } }),
    )
    await expect(loadCampuses()).rejects.toThrow('服务暂时不可用')
    fakeUni.request.mockImplementation((options: RequestCall) => options.success({ statusCode: 200, data: [] }))
    await expect(loadCampuses()).resolves.toEqual([])
  })
})
