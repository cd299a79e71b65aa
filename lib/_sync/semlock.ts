/**
 * `SemLock`, the base of `Lock`, `RLock` and `Semaphore`, as in CPython:
 * the acquire family, the guards, release and sharing, written once over
 * an engine ({@linkcode SemCore}): a mutex (`mutex.ts`) or a counter
 * (`counter.ts`). Re-exported by `lib/synchronize.ts`.
 *
 * @module
 */

import { TimeoutError } from "../errors.ts";
import { waitOptions } from "../_common/check.ts";
import { kShare } from "../_common/transfer.ts";
import { driveAsync, driveSync, type Steps } from "../_shm/drive.ts";
import { SPIN_LIMIT } from "../_shm/wait.ts";
import { firstShareId, kCore, kRevive } from "./keys.ts";

/** Options of the `acquire` family. */
export interface AcquireOptions {
  /**
   * Whether to wait for the primitive. With `false` it tries once and
   * returns at once; `timeout` is then ignored (as in Python's
   * `multiprocessing`).
   *
   * @default {true}
   */
  block?: boolean;
  /**
   * The most seconds to wait; no limit when omitted, `null` or
   * `Infinity`. A negative timeout tries once, as in Python.
   *
   * @default {undefined}
   */
  timeout?: number | null;
}

/**
 * What {@linkcode SemLock.lock} and its kin return: releases what was
 * acquired when disposed (`using held = await lock.lock()`), once.
 */
export interface LockGuard extends Disposable {
  /**
   * Whether acquiring took the lock over from a process that died holding
   * it: the data it guards may be half-updated. Always `false` for
   * semaphores and conditions over a live lock.
   */
  readonly ownerDied: boolean;
  /** Releases now; disposing afterwards does nothing. */
  release(): void;
}

/**
 * The engine of a {@linkcode SemLock}: the shared state and how it is
 * taken and given back. Each wait is a wait loop for `_shm/drive.ts`.
 */
export interface SemCore {
  /** The shared state; the engine's waits sleep on it. */
  readonly i32: Int32Array;
  /** The primitive's name in messages ("lock", "rlock", "semaphore"). */
  readonly what: string;
  /** The primitive's share tag. */
  readonly tag: string;
  /** Whether the last acquire took the lock over from a dead holder. */
  readonly ownerDied: boolean;
  /** Takes it now if that needs no waiting, cheaply. */
  tryFast(): boolean;
  /** An acquire until `deadline` (`-Infinity`: try once). */
  acquire(deadline: number, blocking: boolean): Steps<boolean>;
  /** Gives back `n` (a lock: one level). */
  release(n?: number): void;
  /** Whether an acquire would wait now. */
  locked(): boolean;
  /** What crosses to another process. */
  data(): unknown;
  /** The same kind of engine over what {@linkcode SemCore.data} sent. */
  revive(data: unknown): SemCore;
}

/** The guard of the `lock()` family: one allocation, released once. */
class Guard implements LockGuard {
  #target: SemLock | null;
  readonly ownerDied: boolean;
  constructor(target: SemLock, ownerDied: boolean) {
    this.#target = target;
    this.ownerDied = ownerDied;
  }
  release(): void {
    const t = this.#target;
    if (t === null) return;
    this.#target = null;
    t.release();
  }
  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * What `Lock`, `RLock` and `Semaphore` have in common (CPython's
 * `SemLock`): a primitive in shared memory that an acquire takes and a
 * release gives back, waiting in the blocking (`…Sync`) or the async form.
 * Not made directly; use one of those classes.
 *
 * Scope: a lock's owner is the process (worker), not the async task: two
 * async tasks of one process both pass `await lock.acquire()` only one at
 * a time, but either may `release()`.
 */
export abstract class SemLock implements Disposable {
  #core: SemCore;
  #id: string | undefined;

  /**
   * @param core The engine.
   * @ignore
   */
  protected constructor(core: SemCore) {
    this.#core = core;
  }

  /**
   * Acquires, waiting without blocking the event loop.
   *
   * @param options `block` and `timeout` (seconds).
   * @returns `true` when acquired; `false` when `block` is `false` and
   * it is taken, or when `timeout` passed first (nothing is held then).
   * @throws {TypeError} (as a rejection) When `timeout` is not a number.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const lock = new mp.Lock();
   * console.log(await lock.acquire()); // true
   * console.log(await lock.acquire({ timeout: 0.01 })); // false
   * lock.release();
   * ```
   */
  async acquire(options?: AcquireOptions): Promise<boolean> {
    const deadline = this.#deadline(options);
    const core = this.#core;
    if (core.tryFast()) return true;
    return await driveAsync(core.acquire(deadline, false), core.i32);
  }

  /**
   * Acquires, blocking the thread. Works in workers; on the main thread it
   * blocks the event loop while it waits (Deno allows that).
   *
   * @param options `block` and `timeout` (seconds).
   * @returns `true` when acquired; `false` when `block` is `false` and
   * it is taken, or when `timeout` passed first.
   * @throws {Error} When this process already holds a `Lock` and no
   * timeout is given: nothing could ever release it.
   * @throws {TypeError} When `timeout` is not a number.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const lock = new mp.Lock();
   * console.log(lock.acquireSync()); // true
   * console.log(lock.acquireSync({ block: false })); // false
   * lock.release();
   * ```
   */
  acquireSync(options?: AcquireOptions): boolean {
    const deadline = this.#deadline(options);
    const core = this.#core;
    if (core.tryFast()) return true;
    if (deadline !== -Infinity) {
      // A hand-off between two busy threads takes well under a
      // microsecond: catch it here, before a wait loop is made (the same
      // spin as `waitSync`'s).
      for (let i = 0; i < SPIN_LIMIT; i++) {
        if (!core.locked() && core.tryFast()) return true;
      }
    }
    return driveSync(core.acquire(deadline, true), core.i32);
  }

  /**
   * The deadline of an acquire (`-Infinity`: try once), its options
   * checked before anything is taken. The fast path follows it, so the
   * wait loop is only made when it has to wait.
   */
  #deadline(options: AcquireOptions | undefined): number {
    if (options === undefined) return Infinity;
    return waitOptions(options, `acquire ${this.#core.what}`).deadline;
  }

  /**
   * Acquires and returns a guard that releases (once) when disposed.
   *
   * @param options `timeout` in seconds; no limit when omitted.
   * @returns The guard; its `ownerDied` tells whether a lock was taken
   * over from a dead holder.
   * @throws {TimeoutError} (as a rejection) When `timeout` passed first.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const lock = new mp.Lock();
   * {
   *   using held = await lock.lock({ timeout: 5 });
   *   console.log(held.ownerDied); // false
   * }
   * console.log(lock.locked()); // false
   * ```
   */
  async lock(options?: { timeout?: number | null }): Promise<LockGuard> {
    const timeout = options?.timeout;
    if (!(await this.acquire({ timeout }))) throw this.#timedOut(timeout);
    return new Guard(this, this.#core.ownerDied);
  }

  /**
   * Blocking twin of {@linkcode SemLock.lock} (blocks the event loop on
   * the main thread).
   *
   * @param options `timeout` in seconds; no limit when omitted.
   * @returns The guard.
   * @throws {TimeoutError} When `timeout` passed first.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const slots = new mp.Semaphore(2);
   * {
   *   using _unit = slots.lockSync();
   *   console.log(slots.getValue()); // 1
   * }
   * console.log(slots.getValue()); // 2
   * ```
   */
  lockSync(options?: { timeout?: number | null }): LockGuard {
    const timeout = options?.timeout;
    if (!this.acquireSync({ timeout })) throw this.#timedOut(timeout);
    return new Guard(this, this.#core.ownerDied);
  }

  #timedOut(timeout: number | null | undefined): TimeoutError {
    return new TimeoutError(
      `Cannot acquire the ${this.#core.what}: timed out after ${timeout}s`,
    );
  }

  /**
   * Releases what one acquire took: frees a `Lock` (or one level of an
   * `RLock`; its last frees it), or gives a semaphore one unit back, and
   * wakes one waiter.
   *
   * @throws {ValueError} When this process does not hold the lock (it is
   * not locked, or another process holds it), or a `BoundedSemaphore`
   * would go above its bound.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const lock = new mp.Lock();
   * lock.acquireSync();
   * lock.release();
   * ```
   */
  release(): void {
    this.#core.release();
  }

  /**
   * Whether an acquire would wait now: some process holds the lock, or no
   * unit of the semaphore is free. Another process may change it right
   * after.
   *
   * @returns `true` while held (or while the counter is 0).
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.Lock().locked()); // false
   * ```
   */
  locked(): boolean {
    return this.#core.locked();
  }

  /**
   * Whether this process's last fresh acquire (not a re-entry) took the
   * lock over from a process that died while holding it. The data the
   * lock guards may then be inconsistent; repair it before releasing.
   * Always `false` for a semaphore, which has no owner.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const lock = new mp.Lock();
   * await lock.acquire();
   * console.log(lock.ownerDied); // false
   * lock.release();
   * ```
   */
  get ownerDied(): boolean {
    return this.#core.ownerDied;
  }

  /**
   * Releases, so that `lock.acquireSync(); using _ = lock;` releases at
   * the end of the scope. Prefer {@linkcode SemLock.lock}.
   *
   * @throws {ValueError} As {@linkcode SemLock.release}.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const lock = new mp.Lock();
   * {
   *   lock.acquireSync();
   *   using _l = lock;
   * }
   * console.log(lock.locked()); // false
   * ```
   */
  [Symbol.dispose](): void {
    this.release();
  }

  /**
   * Describes the primitive for another process.
   *
   * @returns The share descriptor.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    const core = this.#core;
    this.#id ??= firstShareId(core.tag, this);
    return { tag: core.tag, id: this.#id, data: core.data() };
  }

  /**
   * Makes the primitive that {@linkcode SemLock[kShare]} described, in
   * the receiving process.
   *
   * @param data The descriptor's data.
   * @param id The descriptor's id.
   * @returns A primitive over the same shared state.
   */
  static [kRevive](
    this: new () => SemLock,
    data: unknown,
    id: string,
  ): SemLock {
    const made = new this();
    made.#core = made.#core.revive(data);
    made.#id = id;
    return made;
  }

  /**
   * The engine (for `Condition`, and the subclasses' own members).
   *
   * @returns The engine.
   * @ignore
   */
  [kCore](): SemCore {
    return this.#core;
  }
}
