/**
 * The proxies for the manager's synchronization primitives: locks,
 * semaphores, Event and Condition. Waiting happens on the server; each
 * method is one call to it (see `proxy.ts`).
 *
 * @module
 */

import { BaseProxy, invoke, type ProxyBlockOptions } from "./proxy.ts";

// --- Locks and semaphores ----------------------------------------------

/**
 * What a managed `Lock`, `RLock`, `Semaphore`, `BoundedSemaphore` and
 * `Condition` share (Python's `AcquirerProxy`): `acquire`, `release`, and
 * `await using` to release. Waiting happens on the server.
 *
 * @example Hold a managed lock for a block
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 * await using m = await mp.Manager();
 * const lock: mp.AcquirerProxy = await m.Lock();
 * if (await lock.acquire({ timeout: 1 })) {
 *   await using _held = lock; // released at the end of the block
 * }
 * ```
 */
export abstract class AcquirerProxy extends BaseProxy {
  /**
   * Acquires (a lock; a unit of a semaphore; a condition's lock), waiting
   * on the server as the options say. Cancelling is not possible; give a
   * `timeout` instead.
   *
   * @param options `block: false` tries once; `timeout` gives up after
   * that many seconds (not both, as in Python's `threading`).
   * @returns Whether it was acquired (`false` only when not blocking, or
   * on timeout).
   * @throws {RangeError} When `timeout` is negative (a lock; a semaphore
   * takes it as "do not wait").
   * @throws {TypeError} When `timeout` is given with `block: false`.
   * @throws {EOFError} When the manager is gone (as every method here).
   */
  acquire(options?: ProxyBlockOptions): Promise<boolean> {
    return invoke(this, "acquire", [options]);
  }

  /**
   * Releases (one level of an `RLock`; one unit of a semaphore).
   *
   * @returns When done.
   * @throws {ValueError} When a lock is not locked, or (`RLock`,
   * `Condition`) this process does not hold it; when a
   * `BoundedSemaphore` would go above its initial value.
   */
  release(): Promise<void> {
    return invoke(this, "release", []);
  }

  /**
   * Releases: `await lock.acquire(); await using _ = lock;`.
   *
   * @returns When released.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

/**
 * A proxy for a managed `Lock` or `RLock`. The owner is the process (its
 * connection): an `RLock` may be re-acquired by the process that holds
 * it, and only that process may release it; a plain `Lock` may be
 * released by anyone, as in Python. Waiting happens on the server. When
 * the holder's process dies (its connection ends), the lock is released,
 * so the others do not deadlock.
 *
 * @example A counter under a managed lock
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 * await using m = await mp.Manager();
 * const lock = await m.Lock();
 * const count = await m.Value("i", 100);
 * await lock.acquire();
 * try {
 *   await count.set((await count.get()) - 1);
 * } finally {
 *   await lock.release();
 * }
 * ```
 */
export class LockProxy extends AcquirerProxy {
  /**
   * Whether someone holds the lock.
   *
   * @returns Whether it is locked.
   * @throws {EOFError} When the manager is gone.
   */
  locked(): Promise<boolean> {
    return invoke(this, "locked", []);
  }
}

/**
 * A proxy for a managed `Semaphore` or `BoundedSemaphore`.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 * await using m = await mp.Manager();
 * const s = await m.Semaphore(2);
 * await s.acquire();
 * console.log(await s.getValue()); // 1
 * await s.release();
 * ```
 */
export class SemaphoreProxy extends AcquirerProxy {
  /**
   * Gives back `n` units.
   *
   * @param n How many.
   * @returns When done.
   * @throws {ValueError} When a `BoundedSemaphore` would go above its
   * initial value.
   * @throws {EOFError} When the manager is gone (as every method here).
   */
  override release(n?: number): Promise<void> {
    return invoke(this, "release", [n]);
  }

  /**
   * The current counter.
   *
   * @returns The counter.
   */
  getValue(): Promise<number> {
    return invoke(this, "getValue", []);
  }
}

// --- Event and Condition ------------------------------------------------

/**
 * A proxy for a managed `Event`.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 * await using m = await mp.Manager();
 * const e = await m.Event();
 * await e.set();
 * console.log(await e.wait(1)); // true
 * ```
 */
export class EventProxy extends BaseProxy {
  /**
   * Sets the flag and wakes every waiter.
   *
   * @returns When done.
   * @throws {EOFError} When the manager is gone (as every method here).
   */
  set(): Promise<void> {
    return invoke(this, "set", []);
  }

  /**
   * Clears the flag.
   *
   * @returns When done.
   */
  clear(): Promise<void> {
    return invoke(this, "clear", []);
  }

  /**
   * Whether the flag is set.
   *
   * @returns The flag.
   */
  isSet(): Promise<boolean> {
    return invoke(this, "isSet", []);
  }

  /**
   * Waits until the flag is set, at most `timeout` seconds.
   *
   * @param timeout Seconds; `undefined` waits forever; a negative value
   *   does not wait (as Python's `threading`).
   * @returns The flag (`false` only on timeout).
   */
  wait(timeout?: number): Promise<boolean> {
    return invoke(this, "wait", [timeout]);
  }
}

/**
 * A proxy for a managed `Condition` (over a managed `RLock`, or the
 * `Lock`/`RLock` given to {@linkcode SyncManager.Condition}); `acquire`
 * and `release` act on that lock.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 * await using m = await mp.Manager();
 * const c = await m.Condition();
 * await c.acquire();
 * console.log(await c.wait(0.01)); // false (nobody notified)
 * await c.release();
 * ```
 */
export class ConditionProxy extends AcquirerProxy {
  /**
   * Releases the lock, waits for a notify (at most `timeout` seconds),
   * then re-acquires the lock. The caller must hold the lock.
   *
   * @param timeout Seconds; `undefined` waits forever; a negative value
   *   does not wait (as Python's `threading`).
   * @returns `false` on timeout, else `true`.
   * @throws {ValueError} When this process does not hold the lock.
   */
  wait(timeout?: number): Promise<boolean> {
    return invoke(this, "wait", [timeout]);
  }

  /**
   * Waits until `predicate()` is truthy, checking it (here, in this
   * process) first and after each notify. The caller must hold the lock.
   *
   * @param predicate The condition to wait for.
   * @param timeout Seconds in all; `undefined` waits forever.
   * @returns The last value of `predicate()`.
   */
  async waitFor<R>(
    predicate: () => R | Promise<R>,
    timeout?: number,
  ): Promise<R> {
    const end = timeout === undefined
      ? Infinity
      : performance.now() + timeout * 1000;
    let result = await predicate();
    while (!result) {
      const left = end - performance.now();
      if (left <= 0) break;
      await this.wait(left === Infinity ? undefined : left / 1000);
      result = await predicate();
    }
    return result;
  }

  /**
   * Wakes up to `n` waiters. The caller must hold the lock.
   *
   * @param n How many.
   * @returns When done.
   * @throws {ValueError} When this process does not hold the lock.
   */
  notify(n?: number): Promise<void> {
    return invoke(this, "notify", [n]);
  }

  /**
   * Wakes every waiter. The caller must hold the lock.
   *
   * @returns When done.
   * @throws {ValueError} When this process does not hold the lock.
   */
  notifyAll(): Promise<void> {
    return invoke(this, "notifyAll", []);
  }
}
