import { t } from '@/i18n'

/** A short, human name for a browser's user agent: "Chrome · Windows", "微信 · iPhone". */
export function describeAgent(userAgent: string | null | undefined): string {
  if (!userAgent) return t('profile.unknownDevice')
  const browser =
    (/MicroMessenger/i.test(userAgent) && t('profile.wechat')) ||
    (/Edg\//.test(userAgent) && 'Edge') ||
    (/(Chrome|Chromium|CriOS)\//.test(userAgent) && 'Chrome') ||
    (/Firefox\//.test(userAgent) && 'Firefox') ||
    (/Safari\//.test(userAgent) && 'Safari') ||
    (/curl\//.test(userAgent) && 'curl') ||
    t('profile.otherBrowser')
  const system =
    (/iPhone|iPad/.test(userAgent) && 'iOS') ||
    (/Android/.test(userAgent) && 'Android') ||
    (/Windows/.test(userAgent) && 'Windows') ||
    (/Mac OS X|Macintosh/.test(userAgent) && 'macOS') ||
    (/Linux/.test(userAgent) && 'Linux') ||
    ''
  return system ? `${browser} · ${system}` : browser
}
