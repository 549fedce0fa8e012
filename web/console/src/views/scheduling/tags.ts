/** Element Plus tag colours for the slot pool's and bookings' states. */
type TagType = 'success' | 'warning' | 'danger' | 'info' | 'primary'

export function placeTag(status: string): TagType {
  return ({ free: 'success', held: 'warning', booked: 'primary', cooling: 'info', blocked: 'danger' } as Record<string, TagType>)[status] ?? 'info'
}

export function sessionStateTag(state: string): TagType {
  return ({ open: 'success', suspended: 'danger', cancelled: 'info' } as Record<string, TagType>)[state] ?? 'info'
}

export function bookingStateTag(state: string): TagType {
  return (
    ({ held: 'warning', confirmed: 'primary', arrived: 'success', completed: 'success', cancelled: 'info', expired: 'info', no_show: 'danger' } as Record<string, TagType>)[
      state
    ] ?? 'info'
  )
}
