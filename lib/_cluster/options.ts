/**
 * Checks shared by the broker `Pool`, `Queue` and the worker command.
 *
 * @module
 */

/**
 * Checks a cluster name (it becomes part of Redis keys).
 *
 * @param name The name given.
 * @param what The action, for the message.
 * @returns The name.
 * @throws {TypeError} When it is not 1-100 of `A-Z a-z 0-9 . _ -`.
 */
export function checkName(name: unknown, what: string): string {
  if (typeof name !== "string" || !/^[\w.-]{1,100}$/.test(name)) {
    throw new TypeError(
      `Cannot ${what}: 'name' must be 1-100 letters, digits, '.', '_' or '-', got ${
        typeof name === "string" ? `"${name}"` : typeof name
      }`,
    );
  }
  return name;
}

/**
 * Checks a duration in seconds.
 *
 * @param value The value given.
 * @param option Its name, for the message.
 * @param what The action, for the message.
 * @param min The smallest value allowed.
 * @returns The value.
 * @throws {RangeError} When it is not a finite number >= `min`.
 */
export function checkSeconds(
  value: unknown,
  option: string,
  what: string,
  min: number,
): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw new RangeError(
      `Cannot ${what}: '${option}' must be a number of seconds >= ${min}, got ${
        String(value)
      }`,
    );
  }
  return value;
}
