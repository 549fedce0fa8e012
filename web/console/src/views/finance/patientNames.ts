/**
 * The masked patient of each order in a list. `GET /api/v1/finance/orders` does not name the patient (only
 * an order's detail does), so the names are read from the details of the orders on screen, a few at a
 * time, and kept for the session. Should the list ever carry `patient_name`, that is used instead.
 */
import { reactive } from 'vue'

import { call, client } from '@/api/client'

const known = reactive(new Map<string, string>())
const asked = reactive(new Set<string>())
const AT_ONCE = 4

/** An order of a list; `patient_name` only if the server adds it to the list one day. */
interface Listed {
  order_number: string
  patient_name?: string | null
}

export function usePatientNames() {
  /** The masked name, `…` while it is being read, `—` when the order has no patient. */
  function get(order: Listed): string {
    if (order.patient_name !== undefined) return order.patient_name ?? '—'
    return known.get(order.order_number) ?? (asked.has(order.order_number) ? '…' : '—')
  }

  async function fill(orders: readonly Listed[]): Promise<void> {
    const missing = orders
      .filter((order) => order.patient_name === undefined && !asked.has(order.order_number))
      .map((order) => order.order_number)
    missing.forEach((number) => asked.add(number))
    for (let start = 0; start < missing.length; start += AT_ONCE) {
      await Promise.all(
        missing.slice(start, start + AT_ONCE).map(async (order_number) => {
          try {
            const detail = await call(client.GET('/api/v1/finance/orders/{order_number}', { params: { path: { order_number } } }), {
              silent: true,
            })
            known.set(order_number, detail.patient_name ?? '—')
          } catch {
            asked.delete(order_number)
          }
        }),
      )
    }
  }

  /** Remember a name already at hand (an order's page). */
  function remember(orderNumber: string, name: string | null): void {
    asked.add(orderNumber)
    known.set(orderNumber, name ?? '—')
  }

  return { get, fill, remember }
}
