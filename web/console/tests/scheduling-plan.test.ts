import { describe, expect, it } from 'vitest'

import {
  addDays,
  apiTime,
  cleanQuotas,
  clock,
  daysBetween,
  liveBookings,
  minutesClock,
  placesInHours,
  quotaText,
  quotaTotal,
  segmentBoard,
  weekdayOf,
  type Place,
} from '@/views/scheduling/plan'

const place = (seq: number, starts: string, channel: string, status: string): Place => ({
  seq,
  starts_at: `2026-12-01T${starts}:00+08:00`,
  ends_at: `2026-12-01T${starts.slice(0, 3)}${starts.endsWith('00') ? '30' : '00'}:00+08:00`,
  channel,
  status,
  booking_number: null,
  booking_state: null,
  patient_name: null,
})

describe('clock times', () => {
  it('shows and sends the API times', () => {
    expect(clock('08:00:00')).toBe('08:00')
    expect(clock(null)).toBe('—')
    expect(apiTime('14:30')).toBe('14:30:00')
    expect(apiTime('14:30:00')).toBe('14:30:00')
    expect(minutesClock(420)).toBe('07:00')
    expect(minutesClock(1439)).toBe('23:59')
  })

  it('counts the patients the hours hold', () => {
    expect(placesInHours('08:00', '12:00', 15)).toBe(16)
    expect(placesInHours('14:00', '17:30', 10)).toBe(21)
    expect(placesInHours('12:00', '08:00', 15)).toBe(0)
  })
})

describe('dates', () => {
  it('counts days and weekdays as the API does (0 is Monday)', () => {
    expect(addDays('2026-12-30', 3)).toBe('2027-01-02')
    expect(daysBetween('2026-12-01', '2027-03-02')).toBe(91)
    expect(weekdayOf('2026-11-30')).toBe(0)
    expect(weekdayOf('2026-12-06')).toBe(6)
  })
})

describe('quotas', () => {
  it('sends only the channels with places and names them', () => {
    expect(cleanQuotas({ window: 4, kiosk: 0, phone: null })).toEqual({ window: 4 })
    expect(quotaTotal({ window: 4, kiosk: 2, phone: undefined })).toBe(6)
    const names: Record<string, string> = { window: '挂号窗口', kiosk: '自助机' }
    expect(quotaText({ window: 4, kiosk: 2 }, (code) => names[code] ?? code)).toBe('挂号窗口 4 · 自助机 2')
    expect(quotaText({}, (code) => code)).toBe('—')
  })
})

describe('segmentBoard', () => {
  it('groups the places by half hour, then channel, in time order', () => {
    const rows = segmentBoard([
      place(3, '08:30', 'pool', 'free'),
      place(1, '08:00', 'window', 'booked'),
      place(2, '08:00', 'pool', 'held'),
      place(4, '08:30', 'pool', 'cooling'),
      place(5, '08:30', 'kiosk', 'blocked'),
    ])
    expect(rows.map((row) => row.starts_at)).toEqual(['2026-12-01T08:00:00+08:00', '2026-12-01T08:30:00+08:00'])
    expect(rows[0]!.total).toEqual({ free: 0, held: 1, booked: 1, cooling: 0, blocked: 0 })
    expect(rows[0]!.channels).toEqual({
      window: { free: 0, held: 0, booked: 1, cooling: 0, blocked: 0 },
      pool: { free: 0, held: 1, booked: 0, cooling: 0, blocked: 0 },
    })
    expect(rows[1]!.channels.pool).toEqual({ free: 1, held: 0, booked: 0, cooling: 1, blocked: 0 })
    expect(rows[1]!.channels.kiosk!.blocked).toBe(1)
  })

  it('counts the live bookings of a session', () => {
    expect(liveBookings({ free: 3, held: 1, booked: 2, cooling: 1, blocked: 0 })).toBe(3)
  })
})
