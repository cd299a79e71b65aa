/**
 * Argument checks shared by the public classes: each throws a `TypeError`
 * or `RangeError` at the call, "Cannot <action>: '<name>' must be …, got
 * <value>", with the value shown with its type (a timeout of `"1"` reads
 * `got the string "1"`, not `got 1`).
 *
 * @module
 */

/**
 * Shows a bad value in an error message: numbers, booleans, `null` and
 * `undefined` as they are; strings quoted, as strings; objects by kind.
 *
 * @param value The value.
 * @returns A short description.
 */
export function describe(value: unknown): string {
  switch (typeof value) {
    case "string":
      return `the string ${JSON.stringify(value)}`;
    case "number":
    case "boolean":
    case "undefined":
      return String(value);
    case "bigint":
      return `${value}n`;
    case "symbol":
      return String(value);
    case "function":
      return "a function";
    default:
      if (value === null) return "null";
      if (Array.isArray(value)) return "an array";
      return "an object";
  }
}

/** How a negative timeout is taken. */
export type Negative = "zero" | "reject";

/**
 * Checks a timeout in seconds (Python's unit) and gives it in
 * milliseconds. Omitted (`undefined`/`null`) and `Infinity` mean no limit.
 *
 * @param value The option's value.
 * @param action What is being done, for the message.
 * @param negative `"zero"`: a negative timeout means "don't wait", as in
 *   most of Python's waits; `"reject"`: it is a `RangeError`.
 * @param name The option's name.
 * @returns Milliseconds, `Infinity` for no limit.
 * @throws {TypeError} When the value is not a number, or is NaN.
 * @throws {RangeError} When it is negative and `negative` is `"reject"`.
 */
export function timeoutMs(
  value: unknown,
  action: string,
  negative: Negative = "zero",
  name = "timeout",
): number {
  if (value === undefined || value === null) return Infinity;
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(
      `Cannot ${action}: '${name}' must be a number of seconds, got ${
        describe(value)
      }`,
    );
  }
  if (value < 0) {
    if (negative === "zero") return 0;
    throw new RangeError(
      `Cannot ${action}: '${name}' must not be negative, got ${value}`,
    );
  }
  return value * 1000;
}

/** What {@linkcode waitOptions} gives. */
export interface WaitLimit {
  /** Whether to wait at all (`block`). */
  block: boolean;
  /** How long, in milliseconds (`Infinity`: no limit; 0 when not blocking). */
  ms: number;
  /**
   * When to give up, in `performance.now()` milliseconds: `Infinity` for
   * no limit, `-Infinity` when not blocking (try once).
   */
  deadline: number;
}

/**
 * Checks Python's `{ block, timeout }` pair. As in Python, `timeout` is
 * ignored when `block` is `false` (after its type is checked), and a
 * negative timeout means "don't wait".
 *
 * @param options The options object (or `undefined`).
 * @param action What is being done, for the message.
 * @returns Whether to block, and for how long.
 * @throws {TypeError} When `options` is not an object, `block` not a
 *   boolean, or `timeout` not a number.
 */
export function waitOptions(options: unknown, action: string): WaitLimit {
  if (options === undefined || options === null) {
    return { block: true, ms: Infinity, deadline: Infinity };
  }
  if (typeof options !== "object") {
    throw new TypeError(
      `Cannot ${action}: options must be an object like { block, timeout }, got ${
        describe(options)
      }`,
    );
  }
  const o = options as { block?: unknown; timeout?: unknown };
  const block = optionalBoolean(o.block, "block", action) ?? true;
  const ms = timeoutMs(o.timeout, action);
  if (!block) return { block, ms: 0, deadline: -Infinity };
  return { block, ms, deadline: performance.now() + ms };
}

/**
 * Checks an optional boolean option.
 *
 * @param value The option's value.
 * @param name The option's name.
 * @param action What is being done, for the message.
 * @returns The value.
 * @throws {TypeError} When it is given and not a boolean.
 */
export function optionalBoolean(
  value: unknown,
  name: string,
  action: string,
): boolean | undefined {
  return optionalOf(value, "boolean", "true or false", name, action) as
    | boolean
    | undefined;
}

/**
 * Checks an optional string option.
 *
 * @param value The option's value.
 * @param name The option's name.
 * @param action What is being done, for the message.
 * @returns The value.
 * @throws {TypeError} When it is given and not a string.
 */
export function optionalString(
  value: unknown,
  name: string,
  action: string,
): string | undefined {
  return optionalOf(value, "string", "a string", name, action) as
    | string
    | undefined;
}

/** An optional option of one `typeof` type, or a TypeError saying so. */
function optionalOf(
  value: unknown,
  type: "boolean" | "string",
  expected: string,
  name: string,
  action: string,
): unknown {
  if (value === undefined || typeof value === type) return value;
  throw new TypeError(
    `Cannot ${action}: '${name}' must be ${expected}, got ${describe(value)}`,
  );
}

/**
 * Checks an integer option within bounds.
 *
 * @param value The option's value.
 * @param name The option's name.
 * @param action What is being done, for the message.
 * @param min The least value allowed.
 * @param max The largest value allowed.
 * @param why Why `max` is the limit, for the message.
 * @returns The value.
 * @throws {TypeError} When it is not a number.
 * @throws {RangeError} When it is not an integer in `[min, max]`.
 */
export function integerIn(
  value: unknown,
  name: string,
  action: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
  why = "",
): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${action}: '${name}' must be an integer, got ${describe(value)}`,
    );
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = (min === 1
      ? "a positive integer"
      : min === 0
      ? "a non-negative integer"
      : `an integer >= ${min}`) +
      (max === Number.MAX_SAFE_INTEGER ? "" : ` up to ${max}${why}`);
    throw new RangeError(
      `Cannot ${action}: '${name}' must be ${range}, got ${value}`,
    );
  }
  return value;
}
