/** Shorthands for the generated API types: `Schema<'PatientAccount'>` is the JSON shape of that schema. */
import type { components } from './schema'

export type Schema<Name extends keyof components['schemas']> = components['schemas'][Name]
