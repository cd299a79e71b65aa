/**
 * `Semaphore` and `BoundedSemaphore`: a {@linkcode SemLock} over a shared
 * counter (`counter.ts`). Re-exported by `lib/synchronize.ts`.
 *
 * @module
 */

import { Counter } from "./counter.ts";
import { kCore, kRevive } from "./keys.ts";
import { SemLock } from "./semlock.ts";

/** Checks a semaphore's initial value (and bound). */
function checkValue(value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
    throw new RangeError(
      `Cannot make a semaphore: 'value' must be a non-negative integer, got ${value}`,
    );
  }
}

/**
 * A counting semaphore shared by processes (Python's
 * `multiprocessing.Semaphore`): `acquire` takes one unit, waiting while the
 * counter is 0; `release` gives units back. A semaphore has no owner, so
 * any process may release, and a process that dies holding a unit does
 * not give it back (as with POSIX semaphores).
 *
 * @example At most 3 at a time
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 *
 * const slots = new mp.Semaphore(3);
 * {
 *   using _slot = await slots.lock();
 *   console.log(slots.getValue()); // 2
 * }
 * console.log(slots.getValue()); // 3
 * ```
 */
export class Semaphore extends SemLock {
  /**
   * Makes a semaphore whose counter starts at `value`.
   *
   * @param value The initial counter.
   * @throws {RangeError} When `value` is negative or not an integer.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.Semaphore(2).getValue()); // 2
   * ```
   */
  constructor(value: number = 1) {
    checkValue(value);
    const bounded = new.target === BoundedSemaphore ||
      new.target.prototype instanceof BoundedSemaphore;
    super(new Counter(value, bounded ? value : null));
  }

  /**
   * Gives `n` units back and wakes up to `n` waiters.
   *
   * @param n How many units.
   * @throws {RangeError} When `n` is not a positive integer.
   * @throws {ValueError} On a {@linkcode BoundedSemaphore}, when the
   * counter would go above its initial value.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const s = new mp.Semaphore(0);
   * s.release(2);
   * console.log(s.getValue()); // 2
   * ```
   */
  override release(n: number = 1): void {
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(
        `Cannot release the semaphore: 'n' must be a positive integer, got ${n}`,
      );
    }
    this[kCore]().release(n);
  }

  /**
   * The counter now (Python's `get_value()`); another process may change
   * it right after.
   *
   * @returns The number of free units.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.Semaphore(4).getValue()); // 4
   * ```
   */
  getValue(): number {
    // A semaphore's engine is always a counter (its constructor's).
    return (this[kCore]() as Counter).value();
  }

  /**
   * Makes the semaphore (bounded or not, as the data says) that
   * `[kShare]()` described, in the receiving process.
   *
   * @param data The descriptor's data.
   * @param id The descriptor's id.
   * @returns A semaphore over the same counter.
   */
  static override [kRevive](data: unknown, id: string): Semaphore {
    const bounded = (data as { bound: number | null }).bound !== null;
    const cls = bounded ? BoundedSemaphore : Semaphore;
    return SemLock[kRevive].call(cls, data, id) as Semaphore;
  }
}

/**
 * A semaphore that may not be released above its initial value (Python's
 * `multiprocessing.BoundedSemaphore`): releasing more than was acquired is
 * a {@linkcode ValueError}, which catches a double release.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 *
 * const s = new mp.BoundedSemaphore(1);
 * s.acquireSync();
 * s.release();
 * try {
 *   s.release();
 * } catch (err) {
 *   console.log(err instanceof mp.ValueError); // true
 * }
 * ```
 */
export class BoundedSemaphore extends Semaphore {
  /**
   * Makes a bounded semaphore whose counter starts at, and may not exceed,
   * `value`.
   *
   * @param value The initial counter and bound.
   * @throws {RangeError} When `value` is negative or not an integer.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.BoundedSemaphore(3).getValue()); // 3
   * ```
   */
  constructor(value: number = 1) {
    super(value);
  }
}
