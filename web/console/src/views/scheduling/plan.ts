/**
 * Pure helpers of the slot-pool desks (unit tested): clock times as the API sends them, periods and
 * weekdays, channel quotas, dates for the filters, and a session's board by half-hour segment.
 */
import type { Schema } from '@/api/types'

export type Place = Schema<'PlaceOut'>
export type PlaceCounts = Schema<'PlaceCounts'>
export type Period = 'morning' | 'afternoon' | 'evening'

export const PERIODS: readonly Period[] = ['morning', 'afternoon', 'evening']
export const WEEKDAYS = [0, 1, 2, 3, 4, 5, 6] as const
export const PLACE_STATES = ['free', 'held', 'booked', 'cooling', 'blocked'] as const
export type PlaceState = (typeof PLACE_STATES)[number]

/** The usual hours of a period, to fill in a new plan or session. */
export const PERIOD_HOURS: Record<Period, [string, string]> = {
  morning: ['08:00', '12:00'],
  afternoon: ['14:00', '17:30'],
  evening: ['18:00', '21:00'],
}

/** `08:00:00` → `08:00` (the API's times carry seconds). */
export function clock(value: string | null | undefined): string {
  if (!value) return '—'
  return value.slice(0, 5)
}

/** `08:00` → `08:00:00`, what the API accepts. */
export function apiTime(value: string): string {
  return value.length === 5 ? `${value}:00` : value
}

function minutesOf(value: string): number {
  const [hours, minutes] = value.split(':').map(Number)
  return (hours ?? 0) * 60 + (minutes ?? 0)
}

/** How many patients the hours hold at the average minutes (more places share the last half hour). */
export function placesInHours(starts: string, ends: string, averageMinutes: number): number {
  const length = minutesOf(ends) - minutesOf(starts)
  if (length <= 0 || averageMinutes <= 0) return 0
  return Math.floor(length / averageMinutes)
}

/** Minutes after midnight as a clock: 420 → `07:00`. */
export function minutesClock(minutes: number): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`
}

/** The quotas with a place each (an empty or zero quota is not sent). */
export function cleanQuotas(quotas: Record<string, number | null | undefined>): Record<string, number> {
  const kept: Record<string, number> = {}
  for (const [channel, count] of Object.entries(quotas)) if (count && count > 0) kept[channel] = count
  return kept
}

export function quotaTotal(quotas: Record<string, number | null | undefined>): number {
  return Object.values(cleanQuotas(quotas)).reduce((sum, count) => sum + count, 0)
}

/** `window 4 · kiosk 2`, with the channels' names. */
export function quotaText(quotas: Record<string, number>, nameOf: (code: string) => string): string {
  const parts = Object.entries(quotas).map(([channel, count]) => `${nameOf(channel)} ${count}`)
  return parts.length ? parts.join(' · ') : '—'
}

/** `YYYY-MM-DD` of a local date. */
export function isoDate(day: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`
}

export function addDays(day: string, days: number): string {
  const [year, month, date] = day.split('-').map(Number)
  return isoDate(new Date(year!, month! - 1, date! + days))
}

/** Whole days from `from` to `to` (both `YYYY-MM-DD`). */
export function daysBetween(from: string, to: string): number {
  const utc = (day: string) => {
    const [year, month, date] = day.split('-').map(Number)
    return Date.UTC(year!, month! - 1, date!)
  }
  return Math.round((utc(to) - utc(from)) / 86_400_000)
}

/** 0 (Monday) … 6 (Sunday) of a `YYYY-MM-DD`, as the API counts weekdays. */
export function weekdayOf(day: string): number {
  const [year, month, date] = day.split('-').map(Number)
  return (new Date(year!, month! - 1, date!).getDay() + 6) % 7
}

export interface SegmentRow {
  starts_at: string
  ends_at: string
  /** Places by state over every channel. */
  total: PlaceCounts
  /** Places by state for each channel (`pool` is the shared pool). */
  channels: Record<string, PlaceCounts>
}

function emptyCounts(): PlaceCounts {
  return { free: 0, held: 0, booked: 0, cooling: 0, blocked: 0 }
}

function count(into: PlaceCounts, status: string): void {
  if ((PLACE_STATES as readonly string[]).includes(status)) into[status as PlaceState] = (into[status as PlaceState] ?? 0) + 1
}

/** A session's places grouped by half-hour segment, then channel, in time order. */
export function segmentBoard(places: readonly Place[]): SegmentRow[] {
  const rows = new Map<string, SegmentRow>()
  for (const place of places) {
    let row = rows.get(place.starts_at)
    if (!row) {
      row = { starts_at: place.starts_at, ends_at: place.ends_at, total: emptyCounts(), channels: {} }
      rows.set(place.starts_at, row)
    }
    count(row.total, place.status)
    count((row.channels[place.channel] ??= emptyCounts()), place.status)
  }
  return [...rows.values()].sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at))
}

/** `08:30-09:00` of an aware datetime pair, in the browser's time zone. */
export function segmentText(starts: string | null | undefined, ends?: string | null): string {
  if (!starts) return '—'
  const hm = (value: string) => {
    const date = new Date(value)
    return `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`
  }
  return ends ? `${hm(starts)}-${hm(ends)}` : hm(starts)
}

/** Live bookings on a session: held plus booked places. */
export function liveBookings(places: PlaceCounts): number {
  return (places.held ?? 0) + (places.booked ?? 0)
}
