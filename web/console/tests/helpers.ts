import { vi } from 'vitest'

/** Stubs the global fetch with answers chosen per "METHOD path"; records every request. */
export function fakeServer(answers: Record<string, (request: Request) => Response | Promise<Response>>) {
  const requests: Request[] = []
  const fetch = vi.fn(async (request: Request) => {
    requests.push(request.clone())
    const url = new URL(request.url)
    const answer = answers[`${request.method} ${url.pathname}`]
    return answer ? answer(request) : json(404, { error: 'not_found', message: '未找到' })
  })
  vi.stubGlobal('fetch', fetch)
  return { requests, fetch }
}

export function json(status: number, body: unknown): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  })
}

/** A `GET /api/v1/auth/me` answer for a member of staff. */
export function me(overrides: Record<string, unknown> = {}) {
  return {
    kind: 'staff',
    id: '00000000-0000-0000-0000-000000000001',
    label: '王医生',
    roles: ['doctor'],
    permissions: ['organisation.read', 'patient.read'],
    campus_ids: null,
    must_change_password: false,
    idle_timeout_seconds: 1800,
    ...overrides,
  }
}

/** A `POST /api/v1/auth/staff/sign-in` answer that signs in. */
export function staffSignedIn(overrides: Record<string, unknown> = {}) {
  return {
    status: 'signed_in',
    token: 'new-token',
    expires_at: '2030-01-01T00:00:00Z',
    idle_timeout_seconds: 1800,
    must_change_password: false,
    staff: { id: '00000000-0000-0000-0000-000000000001', name: '张管理员', staff_number: 'A001', username: 'admin', roles: ['system_admin'] },
    ...overrides,
  }
}

/** A `GET /api/v1/system/info` answer. */
export function info(demo: boolean) {
  return { hospital_name: 'ihos 示范医院', version: '0.1.0', demo }
}
