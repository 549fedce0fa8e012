/** Department trees: what a department may move under, and options for the tree pickers. */
import type { DepartmentNode } from '@/stores/reference'

/** The ids of a department and everything below it: it may not move under any of them (a cycle). */
export function selfAndDescendants(node: DepartmentNode): Set<string> {
  const ids = new Set<string>([node.id])
  for (const child of node.children ?? []) for (const id of selfAndDescendants(child)) ids.add(id)
  return ids
}

export function findNode(nodes: readonly DepartmentNode[], id: string): DepartmentNode | null {
  for (const node of nodes) {
    if (node.id === id) return node
    const found = findNode(node.children ?? [], id)
    if (found) return found
  }
  return null
}

export interface TreeOption {
  value: string
  label: string
  disabled?: boolean
  children?: TreeOption[]
}

/** The tree as picker options; `blocked` ids (and inactive departments) cannot be picked. */
export function treeOptions(nodes: readonly DepartmentNode[], blocked: ReadonlySet<string> = new Set()): TreeOption[] {
  return nodes.map((node) => ({
    value: node.id,
    label: node.name,
    disabled: blocked.has(node.id) || !node.is_active,
    children: node.children?.length ? treeOptions(node.children, blocked) : undefined,
  }))
}
