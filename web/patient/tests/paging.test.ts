import { describe, expect, it, vi } from 'vitest'

import { Pager, type PageOf } from '@/utils/paging'

interface Item {
  id: string
}

/** A server list, newest first, answered a page at a time. */
function server(ids: string[], pageSize: number) {
  return vi.fn(async (page: number): Promise<PageOf<Item>> => ({
    items: ids.slice((page - 1) * pageSize, page * pageSize).map((id) => ({ id })),
    total: ids.length,
  }))
}

const ids = (items: Item[]) => items.map((item) => item.id)

describe('Pager', () => {
  it('pages through the list as the server does', async () => {
    const fetchPage = server(['e', 'd', 'c', 'b', 'a'], 2)
    const pager = new Pager<Item>(fetchPage, (item) => item.id)
    expect(pager.hasMore).toBe(true)
    await pager.start()
    expect(ids(pager.items)).toEqual(['e', 'd'])
    expect(pager.hasMore).toBe(true)
    await pager.more()
    await pager.more()
    expect(ids(pager.items)).toEqual(['e', 'd', 'c', 'b', 'a'])
    expect(pager.hasMore).toBe(false)
    expect(pager.total).toBe(5)
    await pager.more() // nothing left: no request
    expect(fetchPage).toHaveBeenCalledTimes(3)
  })

  it('handles an empty list', async () => {
    const pager = new Pager<Item>(server([], 2), (item) => item.id)
    await pager.start()
    expect(pager.items).toEqual([])
    expect(pager.hasMore).toBe(false)
  })

  it('shows nothing twice when a newer item pushed one onto the next page', async () => {
    const fetchPage = vi
      .fn<(page: number) => Promise<PageOf<Item>>>()
      .mockResolvedValueOnce({ items: [{ id: 'c' }, { id: 'b' }], total: 3 })
      // 'd' came in meanwhile: page 2 now starts with 'b'
      .mockResolvedValueOnce({ items: [{ id: 'b' }, { id: 'a' }], total: 4 })
    const pager = new Pager<Item>(fetchPage, (item) => item.id)
    await pager.start()
    await pager.more()
    expect(ids(pager.items)).toEqual(['c', 'b', 'a'])
  })

  it('stops reading a list that shrank meanwhile', async () => {
    const fetchPage = vi
      .fn<(page: number) => Promise<PageOf<Item>>>()
      .mockResolvedValueOnce({ items: [{ id: 'x' }], total: 3 })
      .mockResolvedValueOnce({ items: [], total: 1 })
    const pager = new Pager<Item>(fetchPage, (item) => item.id)
    await pager.start()
    expect(pager.hasMore).toBe(true)
    await pager.more()
    expect(pager.hasMore).toBe(false)
    expect(ids(pager.items)).toEqual(['x'])
  })
})
