/**
 * The bookings desk's search (预约挂号记录): its filters, kept in the address so that coming back from a
 * booking shows the same list, and the query the API takes. Patients are searched by their full name, ID
 * number or phone (parts of numbers find nothing); the answers come masked.
 */
import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { LocationQuery } from 'vue-router'

import { call, client } from '@/api/client'
import type { Schema } from '@/api/types'

export type BookingRecord = Schema<'BookingRecordOut'>
export type BookingPage = Schema<'Page_BookingRecordOut_'>

export const BOOKING_STATES = ['held', 'confirmed', 'arrived', 'completed', 'cancelled', 'expired', 'no_show'] as const
export const PAGE_SIZE = 20

export interface BookingFilters {
  dateFrom: string
  dateTo: string
  departmentId: string
  doctorId: string
  channel: string
  state: string
  /** '' all, 'online', 'onsite'. */
  visit: string
  patient: string
  sessionId: string
}

export function emptyBookingFilters(): BookingFilters {
  return { dateFrom: '', dateTo: '', departmentId: '', doctorId: '', channel: '', state: '', visit: '', patient: '', sessionId: '' }
}

const ROUTE_KEYS: Record<keyof BookingFilters, string> = {
  dateFrom: 'from',
  dateTo: 'to',
  departmentId: 'department',
  doctorId: 'doctor',
  channel: 'channel',
  state: 'state',
  visit: 'visit',
  patient: 'patient',
  sessionId: 'session',
}

export function bookingFiltersFromRoute(query: LocationQuery): BookingFilters {
  const filters = emptyBookingFilters()
  for (const [field, key] of Object.entries(ROUTE_KEYS) as [keyof BookingFilters, string][]) {
    const value = query[key]
    if (typeof value === 'string') filters[field] = value
  }
  return filters
}

/** The filters as an address query: only what is set, so that the address stays short. */
export function bookingFiltersToRoute(filters: BookingFilters, page = 1): Record<string, string> {
  const query: Record<string, string> = {}
  for (const [field, key] of Object.entries(ROUTE_KEYS) as [keyof BookingFilters, string][]) {
    const value = filters[field].trim()
    if (value) query[key] = value
  }
  if (page > 1) query.page = String(page)
  return query
}

/** The filters as `GET /api/v1/scheduling/bookings` takes them. */
export function bookingQuery(filters: BookingFilters, page: number, pageSize = PAGE_SIZE) {
  return {
    date_from: filters.dateFrom || undefined,
    date_to: filters.dateTo || undefined,
    department_id: filters.departmentId || undefined,
    doctor_id: filters.doctorId || undefined,
    session_id: filters.sessionId || undefined,
    channel: filters.channel || undefined,
    state: filters.state || undefined,
    is_online: filters.visit === 'online' ? true : filters.visit === 'onsite' ? false : undefined,
    patient: filters.patient.trim() || undefined,
    page,
    page_size: pageSize,
  }
}

/** A patient search the server would answer with nothing: part of a number. */
export function patientSearchProblem(text: string): string | null {
  const value = text.trim()
  if (!value) return null
  if (/^\d+[\dXx]*$/.test(value) && value.length !== 11 && value.length !== 15 && value.length !== 18) return 'bookingDesk.patientWhole'
  return null
}

export const useBookingStore = defineStore('booking', () => {
  const page = ref<BookingPage>({ items: [], total: 0, page: 1, page_size: PAGE_SIZE })
  const loading = ref(false)

  async function search(filters: BookingFilters, pageNumber: number): Promise<void> {
    loading.value = true
    try {
      page.value = await call(client.GET('/api/v1/scheduling/bookings', { params: { query: bookingQuery(filters, pageNumber) } }), {
        silent: true,
      })
    } finally {
      loading.value = false
    }
  }

  return { page, loading, search }
})
