import { describe, expect, it } from 'vitest'

import { policyBlocks } from '@/utils/policy-text'

describe('policyBlocks', () => {
  it('turns the Markdown of a policy into blocks of plain text', () => {
    const markdown = '# 用户服务协议\n\n版本：2026-11-01\n\n## 一、服务内容\n1. 第一条。\n- 要点\n本平台**提供**服务。\n'
    expect(policyBlocks(markdown)).toEqual([
      { kind: 'title', text: '用户服务协议' },
      { kind: 'paragraph', text: '版本：2026-11-01' },
      { kind: 'heading', text: '一、服务内容' },
      { kind: 'item', text: '1. 第一条。' },
      { kind: 'item', text: '• 要点' },
      { kind: 'paragraph', text: '本平台提供服务。' },
    ])
  })
})
