/** Shorthands for the generated API types: `Schema<'StaffSession'>` is the JSON shape of that schema. */
import type { components } from './schema'

export type Schema<Name extends keyof components['schemas']> = components['schemas'][Name]
