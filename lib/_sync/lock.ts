/**
 * `Lock` and `RLock`: a {@linkcode SemLock} over a mutex keyed by its
 * holder (`mutex.ts`), plain or re-entrant. Re-exported by
 * `lib/synchronize.ts`.
 *
 * @module
 */

import { Mutex } from "./mutex.ts";
import { SemLock } from "./semlock.ts";

/**
 * A lock shared by processes (Python's `multiprocessing.Lock`). Only the
 * process that acquired it may release it; acquiring it again from the
 * holding process waits (use {@linkcode RLock} to re-enter).
 *
 * Beyond Python: when the holder dies (it was terminated, crashed or
 * exited) while holding the lock, the lock does not stay locked forever:
 * a waiter takes it over within about 50 ms, and
 * {@linkcode SemLock.ownerDied} is `true` after that acquire, so the new
 * holder can repair the data the dead one may have left half-updated.
 *
 * Scope: ownership is per process (worker), not per async task. Two async
 * tasks of one process both pass `await lock.acquire()` only one at a
 * time, but either may `release()`.
 *
 * @example Guarding a critical section
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 *
 * const lock = new mp.Lock();
 * {
 *   using _held = await lock.lock();
 *   console.log(lock.locked()); // true
 * }
 * console.log(lock.locked()); // false
 * ```
 *
 * @example Python's acquire / release
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 *
 * const lock = new mp.Lock();
 * if (lock.acquireSync({ timeout: 1 })) {
 *   try {
 *     // ... critical section ...
 *   } finally {
 *     lock.release();
 *   }
 * }
 * ```
 */
export class Lock extends SemLock {
  /**
   * Makes an unlocked lock.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const lock = new mp.Lock();
   * console.log(lock.locked()); // false
   * ```
   */
  constructor() {
    super(new Mutex(false));
  }
}

/**
 * A re-entrant lock shared by processes (Python's `multiprocessing.RLock`):
 * the holding process may acquire it again, and must release it as many
 * times. Releasing it from a process that does not hold it is an error.
 * Like {@linkcode Lock}, it is taken over when its holder dies
 * ({@linkcode SemLock.ownerDied}); the re-entry count then starts over at
 * 1.
 *
 * Ownership is per process (worker), not per async task.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 *
 * const rlock = new mp.RLock();
 * rlock.acquireSync();
 * rlock.acquireSync(); // re-entry: does not wait
 * rlock.release();
 * console.log(rlock.locked()); // true
 * rlock.release();
 * console.log(rlock.locked()); // false
 * ```
 */
export class RLock extends SemLock {
  /**
   * Makes an unlocked re-entrant lock.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.RLock().locked()); // false
   * ```
   */
  constructor() {
    super(new Mutex(true));
  }
}
