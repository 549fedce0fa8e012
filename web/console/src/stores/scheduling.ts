/**
 * What the slot-pool desks look names up in: slot types (号类), registration kinds (号别), booking channels,
 * the doctors and the departments. Loaded on first use and again after a change. The configuration lists
 * need schedule.manage; customer service (booking.read only) gets names from the records themselves, so a
 * refused list is simply left empty.
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'

import { call, client } from '@/api/client'
import type { Schema } from '@/api/types'
import { useReferenceStore } from '@/stores/reference'
import { labelOf } from '@/utils/labels'

export type SlotType = Schema<'SlotTypeOut'>
export type RegistrationKind = Schema<'RegistrationKindOut'>
export type BookingChannel = Schema<'BookingChannelOut'>
export type Doctor = Schema<'StaffOut'>

export const useSchedulingStore = defineStore('scheduling', () => {
  const reference = useReferenceStore()
  const slotTypes = ref<SlotType[]>([])
  const kinds = ref<RegistrationKind[]>([])
  const channels = ref<BookingChannel[]>([])
  const doctors = ref<Doctor[]>([])

  const kindById = computed(() => new Map(kinds.value.map((kind) => [kind.id, kind])))
  const doctorById = computed(() => new Map(doctors.value.map((doctor) => [doctor.id, doctor])))
  const activeChannels = computed(() => channels.value.filter((channel) => channel.is_active))
  /** Departments (every campus) for the pickers, in tree order. */
  const departments = computed(() => reference.departments)

  async function loadSlotTypes(): Promise<void> {
    slotTypes.value = await call(client.GET('/api/v1/scheduling/slot-types'), { silent: true })
  }

  async function loadKinds(): Promise<void> {
    kinds.value = await call(client.GET('/api/v1/scheduling/registration-kinds'), { silent: true })
  }

  async function loadChannels(): Promise<void> {
    channels.value = await call(client.GET('/api/v1/scheduling/channels'), { silent: true })
  }

  async function loadDoctors(): Promise<void> {
    const found: Doctor[] = []
    for (let page = 1; page <= 10; page++) {
      const answer = await call(
        client.GET('/api/v1/organisation/staff', { params: { query: { role: 'doctor', page, page_size: 100 } } }),
        { silent: true },
      )
      found.push(...answer.items)
      if (found.length >= answer.total || !answer.items.length) break
    }
    doctors.value = found
  }

  async function loadDepartments(): Promise<void> {
    if (reference.departments.length) return
    await reference.loadCampuses()
    await reference.loadTrees()
  }

  /** Everything the office's desks need, each part on its own: a desk still works with what did load. */
  async function loadAll(): Promise<void> {
    await Promise.allSettled([loadSlotTypes(), loadKinds(), loadChannels(), loadDoctors(), loadDepartments()])
  }

  /** What the session and booking desks need to filter (no schedule.manage needed). */
  async function loadForFilters(): Promise<void> {
    await Promise.allSettled([loadDoctors(), loadDepartments(), loadKinds(), loadChannels()])
  }

  function channelName(code: string | null | undefined): string {
    if (!code) return '—'
    return channels.value.find((channel) => channel.code === code)?.name ?? labelOf('bookingChannels', code)
  }

  function slotTypeName(code: string | null | undefined): string {
    if (!code) return '—'
    return slotTypes.value.find((slotType) => slotType.code === code)?.name ?? code
  }

  function kindName(id: string | null | undefined): string {
    return (id && kindById.value.get(id)?.name) || '—'
  }

  function doctorName(id: string | null | undefined): string {
    return (id && doctorById.value.get(id)?.name) || '—'
  }

  /** The doctors of a department (all doctors when none is chosen). */
  function doctorsOf(departmentId: string | null | undefined): Doctor[] {
    if (!departmentId) return doctors.value
    return doctors.value.filter((doctor) => doctor.department_ids.includes(departmentId))
  }

  return {
    slotTypes,
    kinds,
    channels,
    doctors,
    departments,
    activeChannels,
    kindById,
    loadSlotTypes,
    loadKinds,
    loadChannels,
    loadDoctors,
    loadDepartments,
    loadAll,
    loadForFilters,
    channelName,
    slotTypeName,
    kindName,
    doctorName,
    doctorsOf,
    campusName: (id: string) => reference.campusName(id),
    departmentName: (id: string) => reference.departmentName(id),
  }
})
