/** Dates and times as patients read them: `2026-11-27 13:05` in the phone's time zone. */
function pad(value: number): string {
  return String(value).padStart(2, '0')
}

export function formatTime(iso: string): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`
}
