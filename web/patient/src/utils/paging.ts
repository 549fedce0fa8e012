/**
 * Paging through a list the server answers a page at a time (`{ items, total }`), newest first: "load
 * more" reads the next page. An item that moved onto the next page meanwhile (a newer one came in) is
 * not shown twice.
 */

export interface PageOf<T> {
  items: T[]
  total: number
}

export class Pager<T> {
  private read: T[] = []
  private count = 0
  private pages = 0

  constructor(
    private readonly fetchPage: (page: number) => Promise<PageOf<T>>,
    /** What tells two items apart (e.g. the order number). */
    private readonly key: (item: T) => string,
  ) {}

  /** Reads the first page. */
  async start(): Promise<void> {
    await this.more()
  }

  get items(): T[] {
    return this.read
  }

  get total(): number {
    return this.count
  }

  get hasMore(): boolean {
    return this.pages === 0 || this.read.length < this.count
  }

  /** Reads the next page, if there is one. */
  async more(): Promise<void> {
    if (!this.hasMore) return
    const page = await this.fetchPage(this.pages + 1)
    this.pages += 1
    const seen = new Set(this.read.map(this.key))
    this.read = this.read.concat(page.items.filter((item) => !seen.has(this.key(item))))
    // A page that came back short (the list shrank meanwhile) means there is nothing more to read.
    this.count = page.items.length ? page.total : this.read.length
  }
}
