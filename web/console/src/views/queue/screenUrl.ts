/** The address a TV opens: this console's screen page with the screen's token (kept by the TV, then hidden). */
export function screenUrl(token: string, origin: string = window.location.origin, base: string = import.meta.env.BASE_URL): string {
  return `${origin}${base.replace(/\/?$/, '/')}screen?token=${encodeURIComponent(token)}`
}
