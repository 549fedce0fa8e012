/**
 * What several desks look names up in: campuses, each campus's department tree, roles, and the
 * dictionaries for professional titles and posts. Loaded on first use and again after a change.
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'

import { call, client } from '@/api/client'
import type { Schema } from '@/api/types'
import { ADMIN_ROLES } from '@/auth/roles'
import { labelOf } from '@/utils/labels'

export type Campus = Schema<'CampusOut'>
export type DepartmentNode = Schema<'DepartmentNode'>
export type RoleOut = Schema<'RoleOut'>
export type Entry = Schema<'EntryOut'>

/** Every department of the trees, flattened, with the campus it belongs to. */
export function flattenTree(nodes: readonly DepartmentNode[]): DepartmentNode[] {
  return nodes.flatMap((node) => [node, ...flattenTree(node.children ?? [])])
}

export const useReferenceStore = defineStore('reference', () => {
  const campuses = ref<Campus[]>([])
  const trees = ref<Record<string, DepartmentNode[]>>({})
  const roles = ref<RoleOut[]>([])
  const titles = ref<Entry[]>([])
  const posts = ref<Entry[]>([])

  const departments = computed(() => flattenTree(Object.values(trees.value).flat()))
  const departmentById = computed(() => new Map(departments.value.map((d) => [d.id, d])))
  const campusById = computed(() => new Map(campuses.value.map((c) => [c.id, c])))
  /** Roles the security admin may give in the console: never the administrators'. */
  const assignableRoles = computed(() => roles.value.filter((role) => !role.is_admin && !ADMIN_ROLES.includes(role.code)))

  async function loadCampuses(): Promise<void> {
    campuses.value = await call(client.GET('/api/v1/organisation/campuses'), { silent: true })
  }

  async function loadTree(campusId: string): Promise<void> {
    const tree = await call(
      client.GET('/api/v1/organisation/campuses/{campus_id}/departments', { params: { path: { campus_id: campusId } } }),
      { silent: true },
    )
    trees.value = { ...trees.value, [campusId]: tree }
  }

  async function loadTrees(): Promise<void> {
    await Promise.all(campuses.value.map((campus) => loadTree(campus.id)))
  }

  async function loadRoles(): Promise<void> {
    roles.value = await call(client.GET('/api/v1/organisation/roles'), { silent: true })
  }

  async function loadDictionaries(): Promise<void> {
    const entries = (dictionary: string) =>
      call(client.GET('/api/v1/dictionaries/{dictionary}', { params: { path: { dictionary } } }), { silent: true })
    ;[titles.value, posts.value] = await Promise.all([entries('professional_title'), entries('post')])
  }

  /** Everything the organisation desk needs. */
  async function loadAll(): Promise<void> {
    await Promise.all([loadCampuses().then(loadTrees), loadRoles(), loadDictionaries()])
  }

  function campusName(id: string): string {
    return campusById.value.get(id)?.name ?? '—'
  }

  function departmentName(id: string): string {
    return departmentById.value.get(id)?.name ?? '—'
  }

  function roleName(code: string): string {
    return roles.value.find((role) => role.code === code)?.name ?? labelOf('roleNames', code)
  }

  function titleLabel(code: string | null | undefined): string {
    if (!code) return '—'
    return titles.value.find((entry) => entry.code === code)?.label ?? code
  }

  function postLabel(code: string | null | undefined): string {
    if (!code) return '—'
    return posts.value.find((entry) => entry.code === code)?.label ?? code
  }

  return {
    campuses,
    trees,
    roles,
    titles,
    posts,
    departments,
    assignableRoles,
    loadCampuses,
    loadTree,
    loadTrees,
    loadRoles,
    loadDictionaries,
    loadAll,
    campusName,
    departmentName,
    roleName,
    titleLabel,
    postLabel,
  }
})
