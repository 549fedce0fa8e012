import { describe, expect, it, vi } from 'vitest'

import { MergedPager, type PageOf } from '@/utils/paging'

interface Item {
  id: string
  at: number
}

/** A server list per state, newest first, answered a page at a time. */
function server(lists: Record<string, number[]>, pageSize: number) {
  const fetchPage = vi.fn(async (key: string, page: number): Promise<PageOf<Item>> => {
    const all = (lists[key] ?? []).map((at) => ({ id: `${key}${at}`, at }))
    return { items: all.slice((page - 1) * pageSize, page * pageSize), total: all.length }
  })
  return fetchPage
}

const ats = (items: Item[]) => items.map((item) => item.at)

describe('MergedPager', () => {
  it('pages through one list as the server does', async () => {
    const fetchPage = server({ '': [9, 8, 7, 6, 5] }, 2)
    const pager = new MergedPager<Item>([''], fetchPage, (item) => item.at)
    await pager.start()
    expect(ats(pager.items)).toEqual([9, 8])
    expect(pager.hasMore).toBe(true)
    await pager.more()
    await pager.more()
    expect(ats(pager.items)).toEqual([9, 8, 7, 6, 5])
    expect(pager.hasMore).toBe(false)
    expect(pager.total).toBe(5)
  })

  it('merges two lists newest first, showing only what no unread item can precede', async () => {
    const fetchPage = server({ created: [10, 4, 3], paying: [9, 8, 7, 2] }, 2)
    const pager = new MergedPager<Item>(['created', 'paying'], fetchPage, (item) => item.at)
    await pager.start()
    // created read [10, 4], paying read [9, 8]: paying's unread items may be newer than 4.
    expect(ats(pager.items)).toEqual([10, 9, 8])

    await pager.more() // paying's page 2 (its last read, 8, is the newest boundary)
    expect(fetchPage).toHaveBeenLastCalledWith('paying', 2)
    expect(ats(pager.items)).toEqual([10, 9, 8, 7, 4, 2].filter((at) => at >= 4))

    while (pager.hasMore) await pager.more()
    expect(ats(pager.items)).toEqual([10, 9, 8, 7, 4, 3, 2])
    expect(pager.total).toBe(7)
  })

  it('shows nothing twice and never reorders what was shown', async () => {
    const created = [20, 17, 15, 11, 6, 1]
    const paying = [19, 18, 16, 14, 13, 12, 5]
    const pager = new MergedPager<Item>(['created', 'paying'], server({ created, paying }, 2), (item) => item.at)
    await pager.start()
    let shown = ats(pager.items)
    while (pager.hasMore) {
      await pager.more()
      const now = ats(pager.items)
      expect(now.slice(0, shown.length)).toEqual(shown)
      shown = now
    }
    expect(shown).toEqual([...created, ...paying].sort((a, b) => b - a))
  })

  it('handles empty lists', async () => {
    const pager = new MergedPager<Item>(['a', 'b'], server({ b: [3] }, 2), (item) => item.at)
    await pager.start()
    expect(ats(pager.items)).toEqual([3])
    expect(pager.hasMore).toBe(false)
    await pager.more() // nothing to read: no request
    expect(pager.total).toBe(1)
  })

  it('stops reading a list that shrank meanwhile', async () => {
    const fetchPage = vi
      .fn<(key: string, page: number) => Promise<PageOf<Item>>>()
      .mockResolvedValueOnce({ items: [{ id: 'x', at: 5 }], total: 3 })
      .mockResolvedValueOnce({ items: [], total: 1 })
    const pager = new MergedPager<Item>([''], fetchPage, (item) => item.at)
    await pager.start()
    expect(pager.hasMore).toBe(true)
    await pager.more()
    expect(pager.hasMore).toBe(false)
    expect(ats(pager.items)).toEqual([5])
  })
})
