/**
 * The staff form's values and what to send for them. Editing sends only what changed: the server ends
 * a person's sessions whenever `roles` is sent, and it records every sent field in the operation log.
 */
import type { Schema } from '@/api/types'
import { phoneChange } from '@/utils/masking'

export type Staff = Schema<'StaffOut'>
type Sex = NonNullable<Schema<'StaffCreate'>['sex']>

export interface StaffFormValues {
  name: string
  staff_number: string
  username: string
  sex: Sex | ''
  /** A new number typed in; the one on file is only shown masked, as a placeholder. */
  phone: string
  removePhone: boolean
  professional_title: string
  post: string
  speciality: string
  introduction: string
  /** `YYYY-MM-DD` or empty. */
  practice_since: string
  rank: number
  is_accepting_consultations: boolean
  roles: string[]
  department_ids: string[]
  campus_ids: string[]
}

export function emptyStaffForm(): StaffFormValues {
  return {
    name: '',
    staff_number: '',
    username: '',
    sex: '',
    phone: '',
    removePhone: false,
    professional_title: '',
    post: '',
    speciality: '',
    introduction: '',
    practice_since: '',
    rank: 0,
    is_accepting_consultations: false,
    roles: [],
    department_ids: [],
    campus_ids: [],
  }
}

export function formFromStaff(staff: Staff): StaffFormValues {
  return {
    name: staff.name,
    staff_number: staff.staff_number,
    username: staff.username,
    sex: (staff.sex as Sex | null) ?? '',
    phone: '',
    removePhone: false,
    professional_title: staff.professional_title ?? '',
    post: staff.post ?? '',
    speciality: staff.speciality ?? '',
    introduction: staff.introduction ?? '',
    practice_since: staff.practice_since ?? '',
    rank: staff.rank,
    is_accepting_consultations: staff.is_accepting_consultations,
    roles: [...staff.roles],
    department_ids: [...staff.department_ids],
    campus_ids: [...staff.campus_ids],
  }
}

const orNull = (value: string) => value.trim() || null

function profile(form: StaffFormValues) {
  return {
    name: form.name.trim(),
    sex: form.sex || null,
    professional_title: form.professional_title || null,
    post: form.post || null,
    speciality: orNull(form.speciality),
    introduction: orNull(form.introduction),
    practice_since: form.practice_since || null,
    rank: form.rank,
    is_accepting_consultations: form.is_accepting_consultations,
  }
}

export function createBody(form: StaffFormValues): Schema<'StaffCreate'> {
  return {
    ...profile(form),
    staff_number: form.staff_number.trim(),
    username: form.username.trim().toLowerCase(),
    phone: phoneChange(form.phone, false) ?? null,
    roles: [...form.roles],
    department_ids: [...form.department_ids],
    campus_ids: [...form.campus_ids],
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item))
}

/** The fields that differ from `original`; an empty object when nothing changed. */
export function updateBody(original: Staff, form: StaffFormValues): Schema<'StaffUpdate'> {
  const before = profile(formFromStaff(original))
  const after = profile(form)
  const body: Schema<'StaffUpdate'> = {}
  for (const key of Object.keys(after) as (keyof typeof after)[]) {
    if (after[key] !== before[key]) (body as Record<string, unknown>)[key] = after[key]
  }
  const phone = phoneChange(form.phone, form.removePhone)
  if (phone !== undefined && !(phone === null && original.phone === null)) body.phone = phone
  if (!sameSet(form.roles, original.roles)) body.roles = [...form.roles]
  if (!sameSet(form.department_ids, original.department_ids)) body.department_ids = [...form.department_ids]
  if (!sameSet(form.campus_ids, original.campus_ids)) body.campus_ids = [...form.campus_ids]
  return body
}
