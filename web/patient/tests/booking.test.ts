import { describe, expect, it } from 'vitest'

import { t } from '@/locale'
import {
  BOOKING_TABS,
  bookingStateGroup,
  bookingTabState,
  channelKeyOf,
  choiceKey,
  dayLabel,
  daysBetween,
  defaultPatientId,
  departmentTree,
  firstDayWithPlaces,
  formatDay,
  isBookable,
  isPayableHold,
  isSameDay,
  lineOfLinkSession,
  lineOfSession,
  madeElsewhere,
  newRequestKey,
  periodKey,
  refundedFen,
  segmentText,
  sessionsByDay,
  sessionStateKey,
  today,
  weekdayOf,
  weeklyText,
  type Campus,
  type ClinicSession,
  type LinkSession,
} from '@/utils/booking'

function department(id: string, name: string, parent?: [string, string]) {
  return {
    id,
    name,
    parent_id: parent?.[0] ?? null,
    parent_name: parent?.[1] ?? null,
    location: null,
    introduction: null,
  }
}

const CAMPUSES: Campus[] = [
  {
    id: 'main',
    name: '本部院区',
    address: '国学巷37号',
    departments: [
      department('card', '心血管内科', ['im', '内科']),
      department('resp', '呼吸内科', ['im', '内科']),
      department('ped', '儿科'),
      department('orth', '骨科', ['surg', '外科']),
    ],
  },
]

describe('departmentTree', () => {
  it('puts departments under their parent, in the server’s order', () => {
    const [campus] = departmentTree(CAMPUSES)
    expect(campus.name).toBe('本部院区')
    expect(campus.groups.map((group) => group.name)).toEqual(['内科', '儿科', '外科'])
    expect(campus.groups[0].children.map((child) => child.name)).toEqual(['心血管内科', '呼吸内科'])
    expect(campus.groups[0].self).toBeNull()
  })

  it('lets a department without a parent stand on its own', () => {
    const [campus] = departmentTree(CAMPUSES)
    expect(campus.groups[1].self?.id).toBe('ped')
    expect(campus.groups[1].children).toEqual([])
  })

  it('keeps a parent that holds clinics itself as the head of its group', () => {
    const [campus] = departmentTree([
      { ...CAMPUSES[0], departments: [department('gp', '全科医学科'), department('gp1', '全科一病区', ['gp', '全科医学科'])] },
    ])
    expect(campus.groups).toHaveLength(1)
    expect(campus.groups[0].self?.id).toBe('gp')
    expect(campus.groups[0].children.map((child) => child.id)).toEqual(['gp1'])
  })
})

describe('days', () => {
  it('reads calendar days without shifting them by the time zone', () => {
    expect(formatDay('2026-11-29')).toBe('11月29日')
    expect(weekdayOf('2026-11-29')).toBe('周日')
    expect(weekdayOf('2026-11-30')).toBe('周一')
  })

  it('counts days across a month end', () => {
    expect(daysBetween('2026-11-30', '2026-12-01')).toBe(1)
    expect(daysBetween('2026-11-27', '2026-11-27')).toBe(0)
  })

  it('says 今天, 明天, 后天, then the weekday', () => {
    expect(dayLabel('2026-11-27', '2026-11-27')).toBe('今天')
    expect(dayLabel('2026-11-28', '2026-11-27')).toBe('明天')
    expect(dayLabel('2026-11-29', '2026-11-27')).toBe('后天')
    expect(dayLabel('2026-11-30', '2026-11-27')).toBe('周一')
  })

  it('knows today on the phone', () => {
    expect(today(new Date(2026, 10, 27, 23, 59).getTime())).toBe('2026-11-27')
  })

  it('shows a segment in the phone’s hours', () => {
    const starts = new Date(2026, 10, 29, 8, 30).toISOString()
    const ends = new Date(2026, 10, 29, 9, 0).toISOString()
    expect(segmentText(starts, ends)).toBe('08:30-09:00')
  })
})

describe('labels', () => {
  it('has a label for every period and session state', () => {
    for (const period of ['morning', 'afternoon', 'evening', 'whatever']) expect(t(periodKey(period))).not.toContain('booking.')
    for (const state of ['available', 'full', 'not_released', 'stopped', 'closed', 'new']) {
      expect(t(sessionStateKey(state))).not.toContain('booking.')
    }
    expect(t(sessionStateKey('not_released'))).toBe('未放号')
  })

  it('names every channel, windows and kiosks included', () => {
    for (const channel of ['app', 'window', 'kiosk', 'his', 'phone', 'internet_hospital', 'fax']) {
      expect(t(channelKeyOf(channel))).not.toContain('booking.')
    }
    expect(t(channelKeyOf('kiosk'))).toBe('自助机')
  })

  it('has a label for every tab of 我的预约', () => {
    for (const tab of BOOKING_TABS) expect(t(tab.label)).not.toContain('booking.')
  })
})

function session(overrides: Partial<ClinicSession>): ClinicSession {
  return {
    id: 's1',
    session_date: '2026-11-29',
    period: 'morning',
    starts_at: '2026-11-29T00:00:00Z',
    ends_at: '2026-11-29T04:00:00Z',
    kind: { id: 'k', name: '李建华专家门诊', slot_type_name: '专家号', fee_fen: 3000, is_online: false, disease: null },
    department_id: 'card',
    department_name: '心血管内科',
    doctor_id: 'd',
    doctor_name: '李建华',
    professional_title_name: '主任医师',
    room: 'A101',
    state: 'available',
    opens_at: null,
    available: 5,
    ...overrides,
  }
}

describe('sessions', () => {
  it('can be booked only when available with places', () => {
    expect(isBookable(session({}))).toBe(true)
    expect(isBookable(session({ state: 'full', available: 0 }))).toBe(false)
    expect(isBookable(session({ state: 'not_released' }))).toBe(false)
    expect(isBookable(session({ state: 'available', available: 0 }))).toBe(false)
  })

  it('are grouped by day in date order, by start time within a day, counting the places', () => {
    const days = sessionsByDay([
      session({ id: 'b', session_date: '2026-11-30', starts_at: '2026-11-30T06:00:00Z', available: 2 }),
      session({ id: 'a2', starts_at: '2026-11-29T06:00:00Z', state: 'full', available: 0 }),
      session({ id: 'a1', available: 3 }),
      session({ id: 'c', session_date: '2026-11-28', state: 'not_released', available: 9 }),
    ])
    expect(days.map((day) => day.day)).toEqual(['2026-11-28', '2026-11-29', '2026-11-30'])
    expect(days[1].sessions.map((item) => item.id)).toEqual(['a1', 'a2'])
    expect(days.map((day) => day.available)).toEqual([0, 3, 2])
    expect(firstDayWithPlaces(days)).toBe('2026-11-29')
    expect(firstDayWithPlaces([])).toBe('')
  })

  it('knows 当日挂号', () => {
    expect(isSameDay(session({}), '2026-11-29')).toBe(true)
    expect(isSameDay(session({}), '2026-11-28')).toBe(false)
  })

  it('shows a schedule’s session with the session’s own fee', () => {
    const line = lineOfSession(session({ kind: { ...session({}).kind, fee_fen: 5000 } }))
    expect(line).toMatchObject({ kindName: '李建华专家门诊', doctorName: '李建华', titleName: '主任医师', fee_fen: 5000 })
  })

  it('shows a booking link’s session as not released, full or bookable', () => {
    const linked: LinkSession = {
      id: 's9',
      session_date: '2026-12-05',
      period: 'afternoon',
      period_label: '下午',
      starts_at: '2026-12-05T06:00:00Z',
      ends_at: '2026-12-05T09:30:00Z',
      release_at: '2026-11-28T00:00:00Z',
      is_released: false,
      room: null,
      campus_name: '本部院区',
      registration_kind: { id: 'k', name: '李建华专家门诊', slot_type_code: 'expert', disease: null },
      department: { id: 'card', name: '心血管内科' },
      doctor: { id: 'd', name: '李建华', professional_title: 'chief_physician' },
      fee_fen: 3000,
      available: 4,
    }
    expect(lineOfLinkSession(linked)).toMatchObject({ state: 'not_released', opens_at: '2026-11-28T00:00:00Z' })
    expect(lineOfLinkSession({ ...linked, is_released: true })).toMatchObject({ state: 'available', opens_at: null })
    expect(lineOfLinkSession({ ...linked, is_released: true, available: 0 }).state).toBe('full')
  })
})

describe('weeklyText', () => {
  it('lists each kind’s weekly clinics from Monday, morning before afternoon', () => {
    expect(
      weeklyText([
        { weekday: 2, period: 'afternoon', kind_name: '李建华专家门诊' },
        { weekday: 0, period: 'afternoon', kind_name: '李建华专家门诊' },
        { weekday: 0, period: 'morning', kind_name: '李建华专家门诊' },
        { weekday: 6, period: 'morning', kind_name: '冯林普通门诊' },
      ]),
    ).toEqual(['李建华专家门诊：周一上午、周一下午、周三下午', '冯林普通门诊：周日上午'])
  })
})

describe('family patients', () => {
  it('books for the default patient, else the first', () => {
    expect(defaultPatientId([{ id: 'a', is_default: false }, { id: 'b', is_default: true }])).toBe('b')
    expect(defaultPatientId([{ id: 'a', is_default: false }])).toBe('a')
    expect(defaultPatientId([])).toBe('')
  })
})

describe('bookings', () => {
  it('filters 我的预约 by the server’s states', () => {
    expect(bookingTabState('all')).toBeUndefined()
    expect(bookingTabState('confirmed')).toBe('confirmed,arrived')
    expect(bookingTabState('cancelled')).toBe('cancelled,expired')
    expect(bookingTabState('unknown')).toBeUndefined()
  })

  it('groups states for their colour', () => {
    expect(bookingStateGroup('held')).toBe('waiting')
    expect(bookingStateGroup('confirmed')).toBe('good')
    expect(bookingStateGroup('arrived')).toBe('good')
    expect(bookingStateGroup('completed')).toBe('done')
    expect(bookingStateGroup('expired')).toBe('ended')
  })

  it('sends window, kiosk and HIS bookings to be cancelled where they were made', () => {
    expect(madeElsewhere({ channel: 'app' })).toBe(false)
    expect(madeElsewhere({ channel: 'window' })).toBe(true)
    expect(madeElsewhere({ channel: 'kiosk' })).toBe(true)
  })

  it('offers to pay a hold only within its hold time', () => {
    const now = Date.parse('2026-11-27T06:00:00Z')
    expect(isPayableHold({ state: 'held', hold_expires_at: '2026-11-27T06:10:00Z' }, now)).toBe(true)
    expect(isPayableHold({ state: 'held', hold_expires_at: '2026-11-27T05:59:59Z' }, now)).toBe(false)
    expect(isPayableHold({ state: 'confirmed', hold_expires_at: null }, now)).toBe(false)
  })

  it('adds up the refunds on their way or through, not those turned down', () => {
    const refund = (amount_fen: number, state: string) => ({ refund_number: state, amount_fen, state, created_at: '', succeeded_at: null })
    expect(refundedFen({ refunds: [refund(3000, 'succeeded'), refund(500, 'failed'), refund(200, 'executing')] })).toBe(3200)
  })
})

describe('idempotency keys', () => {
  it('are 32 characters, different each time', () => {
    const first = newRequestKey()
    expect(first).toHaveLength(32)
    expect(newRequestKey()).not.toBe(first)
  })

  it('tell choices apart', () => {
    const choice = { sessionId: 's', segment: '08:00', patientId: 'p', visitKind: 'first' }
    expect(choiceKey(choice)).toBe(choiceKey({ ...choice }))
    expect(choiceKey(choice)).not.toBe(choiceKey({ ...choice, visitKind: 'return' }))
  })
})
