/**
 * `Condition`: a lock (`Lock` or `RLock`) and a table of waiter records
 * (`waiters.ts`). Its waits are wait loops for `_shm/drive.ts`, one for
 * both twins; `Barrier` runs its own waits through {@linkcode kRun}.
 * Re-exported by `lib/synchronize.ts`.
 *
 * @module
 */

import { decodeShared, encodeShared, kShare } from "../_common/transfer.ts";
import { driveAsync, driveSync, type Steps } from "../_shm/drive.ts";
import { deadlineFrom } from "../_common/timer.ts";
import { firstShareId, kCore, kRevive, kRun, kRunSync } from "./keys.ts";
import { Lock, RLock } from "./lock.ts";
import type { Mutex } from "./mutex.ts";
import type { AcquireOptions, LockGuard } from "./semlock.ts";
import { WaiterTable } from "./waiters.ts";

/**
 * A condition variable shared by processes (Python's
 * `multiprocessing.Condition`). `wait` releases the lock, sleeps until
 * `notify`, and takes the lock back before it returns.
 *
 * How notify reaches exactly `n` waiters: each waiter takes a record in
 * the shared memory (while it holds the lock) and sleeps on it; `notify(n)`
 * (also under the lock) marks the `n` oldest records notified and wakes
 * each. A waiter that times out withdraws its record under the lock, or
 * returns `true` if a notify marked it meanwhile. A record whose process
 * died is dropped by the next notify instead of swallowing a wake.
 * At most 1024 callers (processes and async tasks) may wait on one
 * condition at once.
 *
 * A wait may still return when the state it waits for changed back
 * before it got the lock, so test the state in a loop, or use
 * {@linkcode Condition.waitFor}.
 *
 * @example Producer and consumer
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 *
 * const cond = new mp.Condition();
 * const box = new mp.Value("i", 0);
 * setTimeout(async () => {
 *   using _held = await cond.lock();
 *   box.value = 42;
 *   cond.notify();
 * }, 10);
 * using _held = await cond.lock();
 * await cond.waitFor(() => box.value !== 0, 5);
 * console.log(box.value); // 42
 * ```
 */
export class Condition implements Disposable {
  #lock: Lock | RLock;
  #m: Mutex;
  #table: WaiterTable = new WaiterTable();
  #id: string | undefined;

  /**
   * Makes a condition over `lock` (a new {@linkcode RLock} by default, as
   * in Python).
   *
   * @param lock The lock that guards the condition's data.
   * @throws {TypeError} When `lock` is not a `Lock` or `RLock`.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const cond = new mp.Condition(new mp.Lock());
   * console.log(cond.getLock() instanceof mp.Lock); // true
   * ```
   */
  constructor(lock?: Lock | RLock) {
    if (
      lock !== undefined && !(lock instanceof Lock) && !(lock instanceof RLock)
    ) {
      throw new TypeError(
        "Cannot make a condition: 'lock' must be a Lock or an RLock",
      );
    }
    this.#lock = lock ?? new RLock();
    // A Lock's or RLock's engine is a mutex (their constructors make it).
    this.#m = this.#lock[kCore]() as Mutex;
  }

  /**
   * The lock the condition uses.
   *
   * @returns The lock.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.Condition().getLock() instanceof mp.RLock); // true
   * ```
   */
  getLock(): Lock | RLock {
    return this.#lock;
  }

  /**
   * Acquires the underlying lock (see {@linkcode Lock.acquire}).
   *
   * @param options `block` and `timeout` (seconds).
   * @returns `true` when acquired; `false` on `block: false` or timeout.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const cond = new mp.Condition();
   * await cond.acquire();
   * cond.release();
   * ```
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    return this.#lock.acquire(options);
  }

  /**
   * Acquires the underlying lock, blocking (see {@linkcode Lock.acquireSync}).
   *
   * @param options `block` and `timeout` (seconds).
   * @returns `true` when acquired; `false` on `block: false` or timeout.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const cond = new mp.Condition();
   * cond.acquireSync();
   * cond.release();
   * ```
   */
  acquireSync(options?: AcquireOptions): boolean {
    return this.#lock.acquireSync(options);
  }

  /**
   * Acquires the underlying lock and returns a guard that releases it.
   *
   * @param options `timeout` in seconds; no limit when omitted.
   * @returns The guard.
   * @throws {TimeoutError} (as a rejection) When `timeout` passed first.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const cond = new mp.Condition();
   * {
   *   using _held = await cond.lock();
   *   cond.notifyAll();
   * }
   * ```
   */
  lock(options?: { timeout?: number | null }): Promise<LockGuard> {
    return this.#lock.lock(options);
  }

  /**
   * Blocking twin of {@linkcode Condition.lock}.
   *
   * @param options `timeout` in seconds; no limit when omitted.
   * @returns The guard.
   * @throws {TimeoutError} When `timeout` passed first.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const cond = new mp.Condition();
   * {
   *   using _held = cond.lockSync();
   * }
   * ```
   */
  lockSync(options?: { timeout?: number | null }): LockGuard {
    return this.#lock.lockSync(options);
  }

  /**
   * Releases the underlying lock.
   *
   * @throws {ValueError} When this process does not hold it.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const cond = new mp.Condition();
   * cond.acquireSync();
   * cond.release();
   * ```
   */
  release(): void {
    this.#lock.release();
  }

  #checkHeld(action: string): void {
    if (!this.#m.heldByMe()) {
      throw new Error(
        `Cannot ${action}: the condition's lock is not held by this process; acquire it first`,
      );
    }
  }

  /**
   * One condition wait, until `deadline`, for both twins: takes a record
   * (lock held), lets go of the lock as deep as it is held, sleeps on the
   * record, takes the lock back (however long that takes) and withdraws
   * the record.
   */
  *#waiting(deadline: number, blocking: boolean): Steps<boolean> {
    this.#checkHeld("wait on the condition");
    const table = this.#table;
    const at = table.register();
    const saved = this.#m.releaseSave();
    try {
      yield* table.sleep(at, deadline);
    } finally {
      yield* this.#m.restore(saved, blocking);
    }
    return table.unregister(at);
  }

  /** `waitFor` for both twins: waits until `predicate()` is truthy. */
  *#waitingFor<T>(
    predicate: () => T,
    deadline: number,
    blocking: boolean,
  ): Steps<T> {
    let result = predicate();
    while (!result) {
      if (performance.now() >= deadline) break;
      yield* this.#waiting(deadline, blocking);
      result = predicate();
    }
    return result;
  }

  /**
   * Releases the lock, waits (without blocking the event loop) until
   * notified or `timeout` passes, then takes the lock back, however long
   * that takes. The caller must hold the lock.
   *
   * @param timeout The most seconds to wait; no limit when omitted.
   * @returns `true` when notified; `false` when `timeout` passed first (no
   * error is thrown). Either way the lock is held again.
   * @throws {Error} (as a rejection) When this process does not hold the
   * lock.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const cond = new mp.Condition();
   * await cond.acquire();
   * console.log(await cond.wait(0.01)); // false
   * cond.release();
   * ```
   */
  async wait(timeout?: number | null): Promise<boolean> {
    const deadline = deadlineFrom(timeout, "wait on the condition");
    return await driveAsync(this.#waiting(deadline, false), this.#table.i32);
  }

  /**
   * Blocking twin of {@linkcode Condition.wait} (blocks the event loop on
   * the main thread).
   *
   * @param timeout The most seconds to wait; no limit when omitted.
   * @returns `true` when notified; `false` when `timeout` passed first.
   * @throws {Error} When this process does not hold the lock.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const cond = new mp.Condition();
   * cond.acquireSync();
   * console.log(cond.waitSync(0.01)); // false
   * cond.release();
   * ```
   */
  waitSync(timeout?: number | null): boolean {
    const deadline = deadlineFrom(timeout, "wait on the condition");
    return driveSync(this.#waiting(deadline, true), this.#table.i32);
  }

  /**
   * Waits until `predicate()` is truthy, re-checking after every wake (so
   * spurious wakes do no harm). The caller must hold the lock.
   *
   * @typeParam T The predicate's result.
   * @param predicate Reads the shared state; called with the lock held.
   * @param timeout The most seconds to wait in all; no limit when omitted.
   * @returns The predicate's last result: falsy only when `timeout`
   * passed first (no error is thrown).
   * @throws {Error} (as a rejection) When this process does not hold the
   * lock.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const cond = new mp.Condition();
   * await cond.acquire();
   * console.log(await cond.waitFor(() => 1 + 1 === 2)); // true
   * cond.release();
   * ```
   */
  async waitFor<T>(predicate: () => T, timeout?: number | null): Promise<T> {
    const deadline = deadlineFrom(timeout, "wait on the condition");
    const steps = this.#waitingFor(predicate, deadline, false);
    return await driveAsync(steps, this.#table.i32);
  }

  /**
   * Blocking twin of {@linkcode Condition.waitFor}.
   *
   * @typeParam T The predicate's result.
   * @param predicate Reads the shared state; called with the lock held.
   * @param timeout The most seconds to wait in all; no limit when omitted.
   * @returns The predicate's last result: falsy only on timeout.
   * @throws {Error} When this process does not hold the lock.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const cond = new mp.Condition();
   * cond.acquireSync();
   * console.log(cond.waitForSync(() => false, 0.01)); // false
   * cond.release();
   * ```
   */
  waitForSync<T>(predicate: () => T, timeout?: number | null): T {
    const deadline = deadlineFrom(timeout, "wait on the condition");
    const steps = this.#waitingFor(predicate, deadline, true);
    return driveSync(steps, this.#table.i32);
  }

  /**
   * Wakes up to `n` processes waiting on the condition. The caller must
   * hold the lock; the woken take it back after the caller releases it.
   *
   * @param n How many waiters to wake.
   * @throws {Error} When this process does not hold the lock.
   * @throws {RangeError} When `n` is negative or not an integer.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const cond = new mp.Condition();
   * cond.acquireSync();
   * cond.notify(); // nobody waits: does nothing
   * cond.release();
   * ```
   */
  notify(n: number = 1): void {
    if (!(Number.isInteger(n) || n === Infinity) || n < 0) {
      throw new RangeError(
        `Cannot notify the condition: 'n' must be a non-negative integer, got ${n}`,
      );
    }
    this.#checkHeld("notify the condition");
    // Records only change under the lock, which we hold.
    this.#table.notify(n);
  }

  /**
   * Wakes every process waiting on the condition. The caller must hold the
   * lock.
   *
   * @throws {Error} When this process does not hold the lock.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const cond = new mp.Condition();
   * cond.acquireSync();
   * cond.notifyAll();
   * cond.release();
   * ```
   */
  notifyAll(): void {
    this.notify(Infinity);
  }

  /**
   * Releases the underlying lock (see {@linkcode Lock[Symbol.dispose]}).
   *
   * @throws {ValueError} When this process does not hold it.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const cond = new mp.Condition();
   * {
   *   cond.acquireSync();
   *   using _c = cond;
   * }
   * ```
   */
  [Symbol.dispose](): void {
    this.release();
  }

  /**
   * Describes the condition (and its lock) for another process.
   *
   * @returns The share descriptor.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    this.#id ??= firstShareId("mp.Condition", this);
    return {
      tag: "mp.Condition",
      id: this.#id,
      data: { buf: this.#table.i32.buffer, lock: encodeShared(this.#lock) },
    };
  }

  /**
   * Makes the condition (and its lock) that {@linkcode Condition[kShare]}
   * described, in the receiving process.
   *
   * @param data The descriptor's data.
   * @param id The descriptor's id.
   * @returns A condition over the same records and lock.
   */
  static [kRevive](data: unknown, id: string): Condition {
    const d = data as { buf: SharedArrayBuffer; lock: unknown };
    const cond = new Condition(decodeShared(d.lock) as Lock | RLock);
    cond.#table = new WaiterTable(d.buf);
    cond.#id = id;
    return cond;
  }

  /**
   * Runs `run` with the lock held in each of its steps and a wait on the
   * condition at each yield (until the deadline it yields; it gets back
   * whether it was woken). Unlike a loop of condition waits, the lock is
   * taken and released around each step in one synchronous go
   * (`Mutex.runLocked`), never held across an await: the step before a
   * wait takes a record and lets go, the step after takes the lock and
   * withdraws it. A blocking acquire in this thread (`Barrier.abort()`)
   * then never waits on a holder it stops.
   *
   * @param run The wait loop (a barrier's).
   * @returns What `run` returns.
   * @ignore
   */
  [kRun]<T>(run: Generator<number, T, boolean>): Promise<T> {
    return driveAsync(this.#running(run, false), this.#table.i32);
  }

  /**
   * Blocking twin of {@linkcode Condition[kRun]}.
   *
   * @param run The wait loop.
   * @returns What `run` returns.
   * @ignore
   */
  [kRunSync]<T>(run: Generator<number, T, boolean>): T {
    return driveSync(this.#running(run, true), this.#table.i32);
  }

  *#running<T>(
    run: Generator<number, T, boolean>,
    blocking: boolean,
  ): Steps<T> {
    const table = this.#table;
    let at = -1;
    let failure: { err: unknown } | undefined;
    const step = (): IteratorResult<number, T> => {
      let s: IteratorResult<number, T>;
      if (at < 0) s = run.next();
      else {
        const woken = table.unregister(at);
        at = -1;
        s = failure === undefined ? run.next(woken) : run.throw(failure.err);
        failure = undefined;
      }
      while (!s.done) {
        try {
          at = table.register();
          break;
        } catch (err) {
          s = run.throw(err); // no record free: `run` cleans up
        }
      }
      return s;
    };
    for (;;) {
      const s = yield* this.#m.runLocked(step, blocking);
      if (s.done) return s.value;
      try {
        yield* table.sleep(at, s.value);
      } catch (err) {
        failure = { err };
      }
    }
  }
}
