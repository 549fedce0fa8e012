import { describe, expect, it } from 'vitest'

import { isStrongEnough } from '@/auth/password'

describe('isStrongEnough', () => {
  it.each(['Abcdefg1', 'abcdef1!', 'ABCDEF1!', 'Abc!efgh'])('accepts %s (3 classes, 8 characters)', (password) => {
    expect(isStrongEnough(password)).toBe(true)
  })

  it.each(['Abc1!', 'abcdefgh1', 'ABCDEFGH', '12345678!'])('refuses %s', (password) => {
    expect(isStrongEnough(password)).toBe(false)
  })
})
