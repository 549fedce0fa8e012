/**
 * Paging through one list that the server keeps as several (GET /api/v1/me/orders filters by one state,
 * and a tab such as 待支付 shows two), newest first.
 *
 * Each source is read a page at a time. An item is shown only when no source that still has unread items
 * could have a newer one (its last read item is older), so the merged list never changes order as more
 * is read; "load more" reads the next page of the source holding that boundary.
 */

export interface PageOf<T> {
  items: T[]
  total: number
}

interface Source<T> {
  key: string
  items: T[]
  total: number
  pages: number
}

export class MergedPager<T> {
  private sources: Source<T>[]

  constructor(
    keys: string[],
    private readonly fetchPage: (key: string, page: number) => Promise<PageOf<T>>,
    /** Larger is newer (e.g. the creation time in milliseconds). */
    private readonly rank: (item: T) => number,
  ) {
    this.sources = keys.map((key) => ({ key, items: [], total: 0, pages: 0 }))
  }

  private unread(source: Source<T>): boolean {
    return source.pages === 0 || source.items.length < source.total
  }

  /** Reads the first page of every source. */
  async start(): Promise<void> {
    await Promise.all(this.sources.map((source) => this.read(source)))
  }

  private async read(source: Source<T>): Promise<void> {
    const page = await this.fetchPage(source.key, source.pages + 1)
    source.pages += 1
    source.items = source.items.concat(page.items)
    source.total = page.total
    // A page that came back short (the list shrank meanwhile) means there is nothing more to read.
    if (!page.items.length) source.total = source.items.length
  }

  /** The oldest rank that can be shown safely, or -Infinity when every source has been read to the end. */
  private boundary(): number {
    let boundary = -Infinity
    for (const source of this.sources) {
      if (!this.unread(source)) continue
      const last = source.items[source.items.length - 1]
      const rank = last === undefined ? Infinity : this.rank(last)
      boundary = Math.max(boundary, rank)
    }
    return boundary
  }

  /** What can be shown, newest first. */
  get items(): T[] {
    const boundary = this.boundary()
    return this.sources
      .flatMap((source) => source.items)
      .filter((item) => this.rank(item) >= boundary)
      .sort((a, b) => this.rank(b) - this.rank(a))
  }

  get hasMore(): boolean {
    return this.sources.some((source) => this.unread(source))
  }

  /** Every item of every source, read or not. */
  get total(): number {
    return this.sources.reduce((sum, source) => sum + source.total, 0)
  }

  /** Reads the next page of the source whose unread items are the newest. */
  async more(): Promise<void> {
    const candidates = this.sources.filter((source) => this.unread(source))
    if (!candidates.length) return
    const rankOfLast = (source: Source<T>) =>
      source.items.length ? this.rank(source.items[source.items.length - 1]) : Infinity
    const next = candidates.reduce((best, source) => (rankOfLast(source) > rankOfLast(best) ? source : best))
    await this.read(next)
  }
}
