/**
 * The policies are short Markdown documents (headings, numbered items, paragraphs). Mini-programs have
 * no HTML to render them into, so they become blocks of plain text, each with its kind for styling.
 */
export interface PolicyBlock {
  kind: 'title' | 'heading' | 'item' | 'paragraph'
  text: string
}

export function policyBlocks(markdown: string): PolicyBlock[] {
  const blocks: PolicyBlock[] = []
  for (const raw of markdown.split(/\r?\n/)) {
    const line = raw.trim()
    if (!line) continue
    const heading = /^(#{1,6})\s+(.*)$/.exec(line)
    if (heading) {
      blocks.push({ kind: heading[1].length === 1 ? 'title' : 'heading', text: heading[2] })
    } else if (/^(\d+[.、]|[-*])\s+/.test(line)) {
      blocks.push({ kind: 'item', text: line.replace(/^[-*]\s+/, '• ') })
    } else {
      blocks.push({ kind: 'paragraph', text: line.replace(/\*\*(.+?)\*\*/g, '$1') })
    }
  }
  return blocks
}
