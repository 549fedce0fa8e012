/** Multipart bodies for the upload endpoints (photos): openapi-fetch sends a FormData body as it is and lets
 * the browser set the boundary. */
export function photoBody(file: File) {
  return {
    // The generated type says `string` (OpenAPI's binary format); the serializer below sends the file.
    body: { photo: file as unknown as string },
    bodySerializer: (body: { photo: string }) => {
      const form = new FormData()
      form.append('photo', body.photo as unknown as File)
      return form
    },
  }
}

export const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp']
export const MAX_PHOTO_BYTES = 5 * 1024 * 1024

/** Why this file cannot be a photo, as a locale key, or null when it can. */
export function photoProblem(file: File): string | null {
  if (!PHOTO_TYPES.includes(file.type)) return 'photo.wrongType'
  if (file.size > MAX_PHOTO_BYTES) return 'photo.tooLarge'
  return null
}
