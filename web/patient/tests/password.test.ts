import { describe, expect, it } from 'vitest'

import { checkPassword, passwordProblem } from '@/utils/password'

describe("passwordProblem (the server's rules, its words)", () => {
  it('accepts 8 characters with three classes', () => {
    expect(passwordProblem('Ihos@2026')).toBe('')
    expect(passwordProblem('abcdef1!')).toBe('')
  })

  it('asks for at least 8 characters', () => {
    expect(passwordProblem('Ab1!')).toBe('密码至少需要 8 个字符。')
  })

  it('refuses more than 64 characters', () => {
    expect(passwordProblem('Aa1!'.repeat(17))).toBe('密码不能超过 64 个字符。')
  })

  it('asks for three of the four classes', () => {
    expect(passwordProblem('abcdefgh1')).toBe('密码需要包含大写字母、小写字母、数字和符号中的至少三类。')
    expect(passwordProblem('abcdEFGH')).toBe('密码需要包含大写字母、小写字母、数字和符号中的至少三类。')
  })

  it('counts anything but ASCII letters and digits as a symbol', () => {
    expect(checkPassword('abcdefg1中').classes).toBe(true)
  })

  it('refuses a password containing the username (from 3 characters on), in any case', () => {
    expect(passwordProblem('Guotingting1!', 'guotingting')).toBe('密码不能包含用户名。')
    expect(checkPassword('Ab1!abcdef', 'ab').notUsername).toBe(true)
  })

  it('asks for a password when there is none', () => {
    expect(passwordProblem('')).toBe('请输入密码')
  })
})
