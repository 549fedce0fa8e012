/**
 * Reference data the screens read often and which changes rarely: the policies (user agreement,
 * privacy policy, health-data and guardian consents) and the relation dictionary. Each is fetched once
 * per app start; a failed fetch is forgotten so that the next screen tries again.
 */
import { api } from '../api/request'
import type { Schema } from '../api/types'

export type Policy = Schema<'PolicyOut'>
export type PolicyDocument = 'user_agreement' | 'privacy_policy' | 'health_data' | 'guardian'
export type Relation = Schema<'EntryOut'>

let policies: Promise<Record<string, Policy>> | null = null
let relations: Promise<Relation[]> | null = null

export function loadPolicies(): Promise<Record<string, Policy>> {
  if (!policies) {
    policies = api
      .get('/api/v1/auth/policies', { anonymous: true, silent: true })
      .then((list) => Object.fromEntries(list.map((policy) => [policy.document, policy])))
    policies.catch(() => {
      policies = null
    })
  }
  return policies
}

/**
 * The relations in the dictionary's order, inactive ones included (a patient added before an entry was
 * retired still shows its label); choosers offer the active ones other than "self".
 */
export function loadRelations(): Promise<Relation[]> {
  if (!relations) {
    relations = api
      .get('/api/v1/dictionaries/{dictionary}', { params: { path: { dictionary: 'relation' } }, silent: true })
      .then((entries) => [...entries].sort((a, b) => a.sort_order - b.sort_order))
    relations.catch(() => {
      relations = null
    })
  }
  return relations
}

/** Forgets what was loaded (tests). */
export function resetReference(): void {
  policies = null
  relations = null
}
