/** The server's password rule, checked before sending so the user hears about it at once: at least 8
 * characters from at least 3 of the classes lower case, upper case, digits and symbols. */
export function isStrongEnough(password: string): boolean {
  if (password.length < 8) return false
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((pattern) => pattern.test(password))
  return classes.length >= 3
}
