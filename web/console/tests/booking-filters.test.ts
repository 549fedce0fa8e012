import { describe, expect, it } from 'vitest'

import { bookingFiltersFromRoute, bookingFiltersToRoute, bookingQuery, emptyBookingFilters, patientSearchProblem } from '@/stores/booking'

describe('the bookings search', () => {
  it('keeps only what is set in the address, and reads it back', () => {
    const filters = { ...emptyBookingFilters(), patient: ' 张伟 ', state: 'cancelled', dateFrom: '2026-12-01', dateTo: '2026-12-07' }
    const query = bookingFiltersToRoute(filters, 2)
    expect(query).toEqual({ patient: '张伟', state: 'cancelled', from: '2026-12-01', to: '2026-12-07', page: '2' })
    expect(bookingFiltersFromRoute(query)).toEqual({ ...emptyBookingFilters(), patient: '张伟', state: 'cancelled', dateFrom: '2026-12-01', dateTo: '2026-12-07' })
  })

  it('asks the API for online or on-site visits and leaves out empty filters', () => {
    const query = bookingQuery({ ...emptyBookingFilters(), visit: 'onsite', channel: 'window' }, 3)
    expect(query).toEqual({
      date_from: undefined,
      date_to: undefined,
      department_id: undefined,
      doctor_id: undefined,
      session_id: undefined,
      channel: 'window',
      state: undefined,
      is_online: false,
      patient: undefined,
      page: 3,
      page_size: 20,
    })
    expect(bookingQuery({ ...emptyBookingFilters(), visit: 'online' }, 1).is_online).toBe(true)
  })

  it('refuses a part of a number, which would find nothing', () => {
    expect(patientSearchProblem('1390000')).toBe('bookingDesk.patientWhole')
    expect(patientSearchProblem('13900000001')).toBeNull()
    expect(patientSearchProblem('11010519850312013X')).toBeNull()
    expect(patientSearchProblem('张伟')).toBeNull()
    expect(patientSearchProblem('')).toBeNull()
  })
})
