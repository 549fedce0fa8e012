/**
 * What the booking screens make of the slot pool's answers: the department tree, days and periods as
 * patients read them, the sessions of a day, the tabs of 我的预约 and what a booking's state allows.
 *
 * Times come from the server as ISO instants and are shown in the phone's time zone, as everywhere in
 * the app; a session's `session_date` is the hospital's calendar day and is shown as it is.
 */
import type { Schema } from '../api/types'
import { t, type MessageKey } from '../locale'

export type Campus = Schema<'ClinicCampusOut'>
export type Department = Schema<'ClinicDepartmentOut'>
export type DoctorCard = Schema<'DoctorCardOut'>
export type ClinicSession = Schema<'ClinicSessionOut'>
export type ClinicSessionDetail = Schema<'ClinicSessionDetailOut'>
export type TimeSegment = Schema<'TimeSegmentOut'>
export type Booking = Schema<'BookingView'>
export type BookingDetail = Schema<'BookingDetail'>
export type Notice = Schema<'NoticeOut'>
export type LinkSession = Schema<'SessionPlacesOut'>
export type FamilyPatient = Schema<'FamilyPatientOut'>

/** A top-level department with the departments under it that hold clinics (内科 → 心血管内科, 呼吸内科…). */
export interface DepartmentGroup {
  /** The parent's id, or the department's own when it has clinics and no parent. */
  key: string
  name: string
  /** The parent itself is bookable (it holds clinics of its own). */
  self: Department | null
  children: Department[]
}

export interface CampusTree {
  id: string
  name: string
  address: string | null
  groups: DepartmentGroup[]
}

/**
 * The campuses' departments as a two-level tree, in the server's order: a department with a parent goes
 * under it (the parent need not hold clinics itself), one without stands alone or heads its children.
 */
export function departmentTree(campuses: Campus[]): CampusTree[] {
  return campuses.map((campus) => {
    const groups = new Map<string, DepartmentGroup>()
    for (const department of campus.departments) {
      const key = department.parent_id ?? department.id
      const group = groups.get(key) ?? {
        key,
        name: department.parent_id ? (department.parent_name ?? department.name) : department.name,
        self: null,
        children: [],
      }
      if (department.parent_id) group.children.push(department)
      else group.self = department
      groups.set(key, group)
    }
    return { id: campus.id, name: campus.name, address: campus.address, groups: [...groups.values()] }
  })
}

const WEEKDAYS = ['日', '一', '二', '三', '四', '五', '六']

function pad(value: number): string {
  return String(value).padStart(2, '0')
}

/** "2026-11-29" → the date at local midnight (no time-zone shift of the calendar day). */
function calendarDay(day: string): Date {
  const [year, month, date] = day.split('-').map(Number)
  return new Date(year, (month ?? 1) - 1, date ?? 1)
}

/** Today's calendar day on the phone, "2026-11-27". */
export function today(nowMs: number = Date.now()): string {
  const date = new Date(nowMs)
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
}

/** How many days `day` is after `from` (both "YYYY-MM-DD"). */
export function daysBetween(from: string, day: string): number {
  return Math.round((calendarDay(day).getTime() - calendarDay(from).getTime()) / 86_400_000)
}

/** "11月29日". */
export function formatDay(day: string): string {
  const date = calendarDay(day)
  return `${date.getMonth() + 1}月${date.getDate()}日`
}

/** "周六". */
export function weekdayOf(day: string): string {
  return `周${WEEKDAYS[calendarDay(day).getDay()]}`
}

/** 今天, 明天, 后天, or the weekday: what a date chip says under the date. */
export function dayLabel(day: string, todayDay: string): string {
  const ahead = daysBetween(todayDay, day)
  if (ahead === 0) return '今天'
  if (ahead === 1) return '明天'
  if (ahead === 2) return '后天'
  return weekdayOf(day)
}

/** "08:30". */
export function clock(iso: string): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`
}

/** A time segment as patients read it: "08:30-09:00". */
export function segmentText(startsAt: string, endsAt: string): string {
  return `${clock(startsAt)}-${clock(endsAt)}`
}

/** "11月29日 08:00" (a release time). */
export function dayAndClock(iso: string): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return `${date.getMonth() + 1}月${date.getDate()}日 ${clock(iso)}`
}

export function periodKey(period: string): MessageKey {
  return `booking.period.${['morning', 'afternoon', 'evening'].includes(period) ? period : 'other'}` as MessageKey
}

export type WeeklyClinic = Schema<'WeeklyClinicOut'>

/**
 * The weekly clinics (长期排班) as lines, one per registration kind: "李建华专家门诊：周一上午、周三下午".
 * Weekdays count from Monday = 0, as the server sends them.
 */
export function weeklyText(weekly: WeeklyClinic[]): string[] {
  const byKind = new Map<string, WeeklyClinic[]>()
  for (const clinic of weekly) byKind.set(clinic.kind_name, [...(byKind.get(clinic.kind_name) ?? []), clinic])
  const order = ['morning', 'afternoon', 'evening']
  return [...byKind.entries()].map(([kind, clinics]) => {
    const times = [...clinics]
      .sort((a, b) => a.weekday - b.weekday || order.indexOf(a.period) - order.indexOf(b.period))
      .map((clinic) => `周${WEEKDAYS[(clinic.weekday + 1) % 7]}${t(periodKey(clinic.period))}`)
    return `${kind}：${times.join('、')}`
  })
}

/** 可预约, 约满, 未放号, 停诊, 已截止. */
export function sessionStateKey(state: string): MessageKey {
  const known = ['available', 'full', 'not_released', 'stopped', 'closed']
  return `booking.sessionState.${known.includes(state) ? state : 'closed'}` as MessageKey
}

/** A session can be chosen for booking. */
export function isBookable(session: { state: string; available: number }): boolean {
  return session.state === 'available' && session.available > 0
}

/** 当日挂号: the session is today's. */
export function isSameDay(session: Pick<ClinicSession, 'session_date'>, todayDay: string): boolean {
  return session.session_date === todayDay
}

export interface SessionDay<S> {
  day: string
  sessions: S[]
  /** Places the app can take that day, over its sessions. */
  available: number
}

/** The sessions by day, in date order, each day's sessions by start time. */
export function sessionsByDay<S extends { session_date: string; starts_at: string; available: number; state: string }>(
  sessions: S[],
): SessionDay<S>[] {
  const days = new Map<string, S[]>()
  for (const session of sessions) days.set(session.session_date, [...(days.get(session.session_date) ?? []), session])
  return [...days.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([day, list]) => {
      const ordered = [...list].sort((a, b) => a.starts_at.localeCompare(b.starts_at))
      const available = ordered.reduce((sum, session) => sum + (isBookable(session) ? session.available : 0), 0)
      return { day, sessions: ordered, available }
    })
}

/** The day to show first: today or the first later day with places, else the first day. */
export function firstDayWithPlaces(days: SessionDay<unknown>[]): string {
  return (days.find((day) => day.available > 0) ?? days[0])?.day ?? ''
}

/** The segments with places left; the others are shown greyed out. */
export function hasPlaces(segment: Pick<TimeSegment, 'available'>): boolean {
  return segment.available > 0
}

/** The family patient to book for unless the patient picks another: the default one, else the first. */
export function defaultPatientId(patients: Pick<FamilyPatient, 'id' | 'is_default'>[]): string {
  return (patients.find((patient) => patient.is_default) ?? patients[0])?.id ?? ''
}

/**
 * Tabs of 我的预约; `state` is the server's filter, several states separated by commas (empty: every
 * booking). 已预约 includes those checked in (已签到), 已取消 the holds that lapsed unpaid (已失效).
 */
export const BOOKING_TABS: { key: string; label: MessageKey; state?: string }[] = [
  { key: 'all', label: 'booking.tab.all' },
  { key: 'held', label: 'booking.tab.held', state: 'held' },
  { key: 'confirmed', label: 'booking.tab.confirmed', state: 'confirmed,arrived' },
  { key: 'completed', label: 'booking.tab.completed', state: 'completed' },
  { key: 'cancelled', label: 'booking.tab.cancelled', state: 'cancelled,expired' },
]

export function bookingTabState(key: string): string | undefined {
  return BOOKING_TABS.find((tab) => tab.key === key)?.state
}

/** Colour group of a booking state. */
export function bookingStateGroup(state: string): 'waiting' | 'good' | 'done' | 'ended' {
  if (state === 'held') return 'waiting'
  if (state === 'confirmed' || state === 'arrived') return 'good'
  if (state === 'completed') return 'done'
  return 'ended'
}

/** Bookings made at a window, a kiosk or by the HIS are cancelled where they were made. */
export function madeElsewhere(booking: Pick<Booking, 'channel'>): boolean {
  return booking.channel !== 'app'
}

export function channelKeyOf(channel: string): MessageKey {
  const known = ['app', 'window', 'kiosk', 'his', 'phone', 'internet_hospital']
  return `booking.channel.${known.includes(channel) ? channel : 'other'}` as MessageKey
}

/** A held booking still within its hold time: it can be paid. */
export function isPayableHold(booking: Pick<Booking, 'state' | 'hold_expires_at'>, nowMs: number): boolean {
  if (booking.state !== 'held' || !booking.hold_expires_at) return false
  return Date.parse(booking.hold_expires_at) > nowMs
}

/** The refund of a cancellation, as the booking's order shows it: what came back or is on its way. */
export function refundedFen(booking: Pick<BookingDetail, 'refunds'>): number {
  return booking.refunds.filter((refund) => !['rejected', 'failed'].includes(refund.state)).reduce((sum, refund) => sum + refund.amount_fen, 0)
}

/** A fresh idempotency key (`Idempotency-Key`, at most 64 characters) for one booking attempt. */
export function newRequestKey(random: () => number = Math.random, nowMs: number = Date.now()): string {
  let text = nowMs.toString(36)
  while (text.length < 32) text += Math.floor(random() * 36).toString(36)
  return text.slice(0, 32)
}

/** What one booking attempt is: the same choice keeps its key, so a retried tap is the same request. */
export function choiceKey(choice: { sessionId: string; segment: string; patientId: string; visitKind: string }): string {
  return [choice.sessionId, choice.segment, choice.patientId, choice.visitKind].join('|')
}

/** One session as the lists show it, whether it came from a schedule or from a booking link. */
export interface SessionLine {
  id: string
  session_date: string
  period: string
  starts_at: string
  ends_at: string
  state: string
  available: number
  opens_at: string | null
  kindName: string
  doctorName: string | null
  titleName: string | null
  departmentName: string
  room: string | null
  fee_fen: number
}

export function lineOfSession(session: ClinicSession): SessionLine {
  return {
    id: session.id,
    session_date: session.session_date,
    period: session.period,
    starts_at: session.starts_at,
    ends_at: session.ends_at,
    state: session.state,
    available: session.available,
    opens_at: session.opens_at ?? null,
    kindName: session.kind.name,
    doctorName: session.doctor_name,
    titleName: session.professional_title_name,
    departmentName: session.department_name,
    room: session.room,
    fee_fen: session.kind.fee_fen,
  }
}

/** A booking link's session: not released yet (with its release time), full, or with places. */
export function lineOfLinkSession(session: LinkSession): SessionLine {
  return {
    id: session.id,
    session_date: session.session_date,
    period: session.period,
    starts_at: session.starts_at,
    ends_at: session.ends_at,
    state: !session.is_released ? 'not_released' : session.available > 0 ? 'available' : 'full',
    available: session.available,
    opens_at: session.is_released ? null : session.release_at,
    kindName: session.registration_kind.name,
    doctorName: session.doctor?.name ?? null,
    titleName: null,
    departmentName: session.department.name,
    room: session.room,
    fee_fen: session.fee_fen,
  }
}
