import { describe, expect, it } from 'vitest'

import { auditFiltersProblem, auditQuery, emptyAuditFilters } from '@/views/audit/query'
import { codeProblem, phoneProblem, placementProblem, usernameProblem } from '@/views/organization/rules'
import { createBody, emptyStaffForm, formFromStaff, updateBody, type Staff } from '@/views/organization/staffForm'
import { findNode, selfAndDescendants, treeOptions } from '@/views/organization/tree'
import { entryCodeProblem, ruleValueProblem } from '@/views/system/rules'
import { businessPermissions, roleCodeProblem } from '@/views/users/roles'

import type { DepartmentNode } from '@/stores/reference'

describe('organisation form checks', () => {
  it('takes codes the server takes', () => {
    expect(codeProblem('CARD')).toBeNull()
    expect(codeProblem('east_2-b')).toBeNull()
    expect(codeProblem('')).toBe('validation.codeRequired')
    expect(codeProblem('心内')).toBe('validation.codeFormat')
    expect(codeProblem('a b')).toBe('validation.codeFormat')
    expect(codeProblem('x'.repeat(33))).toBe('validation.codeFormat')
  })

  it('takes usernames the server takes (it lower-cases them)', () => {
    expect(usernameProblem('zhouxinyi')).toBeNull()
    expect(usernameProblem('ZhouXinyi')).toBeNull()
    expect(usernameProblem('')).toBe('validation.usernameRequired')
    expect(usernameProblem('abc')).toBe('validation.usernameFormat')
    expect(usernameProblem('1doctor')).toBe('validation.usernameFormat')
    expect(usernameProblem('zhou.xinyi')).toBe('validation.usernameFormat')
  })

  it('lets the phone be empty but not wrong', () => {
    expect(phoneProblem('')).toBeNull()
    expect(phoneProblem('13800138000')).toBeNull()
    expect(phoneProblem('12345')).toBe('validation.phoneFormat')
  })

  it('needs a role, and somewhere to work for a campus-scoped one', () => {
    const scoped = new Set(['doctor', 'nurse', 'pharmacist'])
    expect(placementProblem({ roles: [], departmentIds: ['d'], campusIds: [] }, scoped)).toBe('validation.rolesRequired')
    expect(placementProblem({ roles: ['doctor'], departmentIds: [], campusIds: [] }, scoped)).toBe('validation.placementRequired')
    expect(placementProblem({ roles: ['doctor'], departmentIds: ['d'], campusIds: [] }, scoped)).toBeNull()
    expect(placementProblem({ roles: ['doctor'], departmentIds: [], campusIds: ['c'] }, scoped)).toBeNull()
    expect(placementProblem({ roles: ['customer_service'], departmentIds: [], campusIds: [] }, scoped)).toBeNull()
  })
})

const staff: Staff = {
  id: 's1',
  hospital_id: 'h1',
  staff_number: 'D1001',
  name: '李建华',
  sex: null,
  phone: '139****0021',
  username: 'lijianhua',
  professional_title: 'chief_physician',
  post: 'director',
  speciality: '冠心病',
  introduction: null,
  practice_since: '2005-07-01',
  rank: 20,
  is_accepting_consultations: true,
  is_active: true,
  is_locked: false,
  has_second_factor: false,
  photo_url: null,
  roles: ['doctor'],
  department_ids: ['d1'],
  campus_ids: ['c1'],
  last_sign_in_at: null,
}

describe('the staff form', () => {
  it('sends nothing when nothing changed', () => {
    expect(updateBody(staff, formFromStaff(staff))).toEqual({})
  })

  it('sends only the changed fields, and roles only when they changed (changing them signs the person out)', () => {
    const form = formFromStaff(staff)
    form.speciality = '冠心病、高血压'
    form.roles = ['doctor']
    form.department_ids = ['d1', 'd2']
    expect(updateBody(staff, form)).toEqual({ speciality: '冠心病、高血压', department_ids: ['d1', 'd2'] })

    form.roles = ['doctor', 'insurance_office']
    expect(updateBody(staff, form)).toMatchObject({ roles: ['doctor', 'insurance_office'] })
  })

  it('never sends the masked phone back; a new one or a removal only', () => {
    const form = formFromStaff(staff)
    expect(form.phone).toBe('')
    form.phone = '139****0021'
    expect(updateBody(staff, form)).toEqual({})
    form.phone = '13800138000'
    expect(updateBody(staff, form)).toEqual({ phone: '13800138000' })
    form.removePhone = true
    expect(updateBody(staff, form)).toEqual({ phone: null })
  })

  it('turns emptied fields into nulls', () => {
    const form = formFromStaff(staff)
    form.post = ''
    form.speciality = '  '
    expect(updateBody(staff, form)).toEqual({ post: null, speciality: null })
  })

  it('creates with a lower-case username and nulls for what was left empty', () => {
    const form = { ...emptyStaffForm(), name: ' 周新医 ', staff_number: 'D9001', username: 'ZhouXinyi', roles: ['doctor'], department_ids: ['d1'] }
    expect(createBody(form)).toEqual({
      name: '周新医',
      staff_number: 'D9001',
      username: 'zhouxinyi',
      sex: null,
      phone: null,
      professional_title: null,
      post: null,
      speciality: null,
      introduction: null,
      practice_since: null,
      rank: 0,
      is_accepting_consultations: false,
      roles: ['doctor'],
      department_ids: ['d1'],
      campus_ids: [],
    })
  })
})

function node(id: string, children: DepartmentNode[] = [], is_active = true): DepartmentNode {
  return { id, campus_id: 'c1', parent_id: null, code: id, name: id, kind: 'clinical', introduction: null, location: null, sort_order: 0, is_active, children }
}

describe('department trees', () => {
  const tree = [node('内科', [node('心内', [node('心内一病区')]), node('呼吸')]), node('外科', [], false)]

  it('keeps a department from moving under itself or its descendants', () => {
    const internal = findNode(tree, '内科')!
    expect([...selfAndDescendants(internal)].sort()).toEqual(['内科', '呼吸', '心内', '心内一病区'].sort())
    const options = treeOptions(tree, selfAndDescendants(findNode(tree, '心内')!))
    expect(options[0]!.disabled).toBe(false)
    expect(options[0]!.children![0]!.disabled).toBe(true)
    expect(options[0]!.children![0]!.children![0]!.disabled).toBe(true)
    expect(options[0]!.children![1]!.disabled).toBe(false)
  })

  it('offers no inactive department', () => {
    expect(treeOptions(tree)[1]!.disabled).toBe(true)
  })
})

describe('custom roles', () => {
  const role = (code: string, permissions: string[], is_builtin = true, is_admin = false) => ({
    code,
    name: code,
    description: null,
    permissions,
    is_campus_scoped: false,
    is_builtin,
    is_admin,
  })

  it('offer the permissions of the built-in business roles, never the administrators', () => {
    const roles = [
      role('doctor', ['organisation.read', 'patient.read']),
      role('customer_service', ['patient.unmask', 'identity.review']),
      role('security_admin', ['staff.manage', 'role.manage'], true, true),
      role('clerk', ['patient.read', 'made.up'], false),
    ]
    expect(businessPermissions(roles)).toEqual(['identity.review', 'organisation.read', 'patient.read', 'patient.unmask'])
  })

  it('have codes the server takes', () => {
    expect(roleCodeProblem('records_clerk')).toBeNull()
    expect(roleCodeProblem('')).toBe('validation.codeRequired')
    expect(roleCodeProblem('Clerk')).toBe('roles.codeFormat')
    expect(roleCodeProblem('1clerk')).toBe('roles.codeFormat')
  })
})

describe('system rules and dictionaries', () => {
  const rule = { minimum: 1, maximum: 120 }

  it('keep a rule within its bounds', () => {
    expect(ruleValueProblem(rule, 30)).toBeNull()
    expect(ruleValueProblem(rule, 1)).toBeNull()
    expect(ruleValueProblem(rule, 120)).toBeNull()
    expect(ruleValueProblem(rule, 0)).toBe('rules.outOfRange')
    expect(ruleValueProblem(rule, 500)).toBe('rules.outOfRange')
    expect(ruleValueProblem(rule, 2.5)).toBe('rules.integer')
    expect(ruleValueProblem(rule, null)).toBe('rules.valueRequired')
  })

  it('take dictionary codes in lower case', () => {
    expect(entryCodeProblem('medical_director')).toBeNull()
    expect(entryCodeProblem('Medical Director')).toBe('dictionaries.codeFormat')
    expect(entryCodeProblem('')).toBe('validation.codeRequired')
  })
})

describe('audit log filters', () => {
  it('send only what was filled in, and the time range in UTC', () => {
    const filters = { ...emptyAuditFilters(), action: ' staff. ', result: 'denied', range: [new Date('2026-03-01T00:00:00+08:00'), new Date('2026-03-02T00:00:00+08:00')] as [Date, Date] }
    expect(auditQuery(filters, 2, 50)).toEqual({
      actor_id: undefined,
      actor_kind: undefined,
      action: 'staff.',
      target_kind: undefined,
      target_id: undefined,
      result: 'denied',
      since: '2026-02-28T16:00:00.000Z',
      until: '2026-03-01T16:00:00.000Z',
      page: 2,
      page_size: 50,
    })
  })

  it('refuse an actor id that is not a UUID (the server would answer 422)', () => {
    expect(auditFiltersProblem({ ...emptyAuditFilters(), actorId: '许晴' })).toBe('audit.actorIdFormat')
    expect(auditFiltersProblem({ ...emptyAuditFilters(), actorId: '01a21d28-f839-7b46-a35d-29d645815edf' })).toBeNull()
  })
})
