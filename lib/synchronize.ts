/**
 * Locks, semaphores, events, conditions and barriers that work across
 * processes: their state lives in a `SharedArrayBuffer` and every change is
 * an `Atomics` operation, so a `Lock` passed to a `Process` is the same lock
 * there, with no message passing on the hot path.
 *
 * How a wait works: a blocked caller counts itself in a `waiters` slot,
 * then sleeps on the slot that must change (`Atomics.wait`, or
 * `Atomics.waitAsync` for the async methods) after a short spin. The
 * releasing side changes the slot first and reads `waiters` second; the
 * waiter counts itself first and reads the slot second. `Atomics` are
 * sequentially consistent, so at least one side sees the other's write:
 * either the waiter sees the change and does not sleep, or the releaser
 * sees the waiter and wakes it. No wake-up is lost.
 *
 * Ownership: `Lock` and `RLock` store the holder's process key (see
 * `_common/runtime.ts`) in their state word. The owner is the process (worker
 * thread), not the async task: two async tasks of one process share it.
 * Waiters sleep in slices of about 50 ms and, on each wake, check
 * whether the holder is still alive; when it died holding the lock, one of
 * them takes the lock over and sees `ownerDied === true`.
 *
 * Start methods: these primitives share memory, so they cross to
 * `"worker"` processes. A `"subprocess"` child cannot map the parent's
 * `SharedArrayBuffer`; use a manager's `m.Lock()` … there.
 *
 * @module
 */

import { BrokenBarrierError, TimeoutError, ValueError } from "./errors.ts";
import { currentKey, isAlive, isServedHere } from "./_common/runtime.ts";
import {
  decodeShared,
  encodeShared,
  kShare,
  newShareId,
  registerShareable,
  rememberShared,
} from "./_common/transfer.ts";
import { deadlineFrom, waitAsync, waitSync } from "./_shm/wait.ts";
import { waitOptions } from "./_common/check.ts";

/**
 * How long a lock waiter sleeps before it looks whether the holder died.
 * A dead holder's lock is handed on within about this time.
 */
const SLICE_MS = 50;

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
 * What {@linkcode Lock.lock} and its kin return: releases what was
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

/** Something the `lock()` family can acquire and release. */
interface Acquirable {
  acquire(options?: AcquireOptions): Promise<boolean>;
  acquireSync(options?: AcquireOptions): boolean;
  release(): void;
}

/** The guard of the `lock()` family: one allocation, released once. */
class Guard implements LockGuard {
  #target: Acquirable | null;
  readonly ownerDied: boolean;
  constructor(target: Acquirable, ownerDied: boolean) {
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

function makeGuard(target: Acquirable, ownerDied: boolean): LockGuard {
  return new Guard(target, ownerDied);
}

async function guardAsync(
  target: Acquirable,
  what: string,
  options: { timeout?: number | null } | undefined,
  died: () => boolean,
): Promise<LockGuard> {
  const timeout = options?.timeout;
  if (!(await target.acquire({ timeout }))) {
    throw new TimeoutError(
      `Cannot acquire the ${what}: timed out after ${timeout}s`,
    );
  }
  return makeGuard(target, died());
}

function guardSync(
  target: Acquirable,
  what: string,
  options: { timeout?: number | null } | undefined,
  died: () => boolean,
): LockGuard {
  const timeout = options?.timeout;
  if (!target.acquireSync({ timeout })) {
    throw new TimeoutError(
      `Cannot acquire the ${what}: timed out after ${timeout}s`,
    );
  }
  return makeGuard(target, died());
}

/** The deadline of an `acquire`: `-Infinity` means "try once". */
function acquireDeadline(
  options: AcquireOptions | undefined,
  what: string,
): number {
  return waitOptions(options, what).deadline;
}

/** The end of the next sleep: a slice, or the deadline if sooner. */
function sliceEnd(deadline: number): number {
  return Math.min(deadline, performance.now() + SLICE_MS);
}

/**
 * A revived primitive's buffer, handed to its constructor. Revivers set
 * it just before `new`, so the public constructors keep their Python
 * signatures and no hidden parameter shows in the docs.
 */
let adopting: { buf: SharedArrayBuffer; id: string } | undefined;

function adopt(): { buf: SharedArrayBuffer; id: string } | undefined {
  const a = adopting;
  adopting = undefined;
  return a;
}

function revive<T>(
  buf: SharedArrayBuffer,
  id: string,
  make: () => T,
): T {
  adopting = { buf, id };
  try {
    return make();
  } finally {
    adopting = undefined;
  }
}

// --- The mutex core shared by Lock and RLock --------------------------

/** Slot of the holder's key (0 when free). */
const OWNER = 0;
/** Slot counting the callers waiting for the mutex. */
const WAITERS = 1;
/** Slot of an RLock's re-entry count (written by the holder only). */
const COUNT = 2;

/**
 * A futex mutex whose state word is the holder's process key. Keeping the
 * key in the very word that is compare-exchanged means there is no moment
 * when the lock is taken but its owner unknown, so a holder dying at any
 * instant leaves a lock that can be recognised and taken over.
 */
class Mutex {
  readonly i32: Int32Array;
  /** Set by the acquire that took the mutex over from a dead holder. */
  ownerDied = false;

  constructor(buf: SharedArrayBuffer) {
    this.i32 = new Int32Array(buf);
  }

  /** Takes the mutex if free, or if its holder is dead. */
  #try(me: number): boolean {
    const seen = Atomics.compareExchange(this.i32, OWNER, 0, me);
    if (seen === 0) {
      this.ownerDied = false;
      return true;
    }
    // The dead holder cannot release any more; exactly one taker wins the
    // exchange from its key to ours.
    if (
      seen !== me && !isAlive(seen) &&
      Atomics.compareExchange(this.i32, OWNER, seen, me) === seen
    ) {
      this.ownerDied = true;
      return true;
    }
    return false;
  }

  /** Fast path: one compare-exchange, nothing else. */
  tryFast(me: number): boolean {
    if (Atomics.compareExchange(this.i32, OWNER, 0, me) === 0) {
      this.ownerDied = false;
      return true;
    }
    return false;
  }

  acquireSync(me: number, deadline: number, what: string): boolean {
    if (this.#try(me)) return true;
    if (deadline === -Infinity) return false;
    if (deadline === Infinity && Atomics.load(this.i32, OWNER) === me) {
      // Nothing else in this thread can run to release it.
      throw new Error(
        `Cannot acquire the ${what}: this process already holds it, so acquireSync() would wait forever; use an RLock to re-enter`,
      );
    }
    const i32 = this.i32;
    Atomics.add(i32, WAITERS, 1);
    try {
      for (;;) {
        const seen = Atomics.load(i32, OWNER);
        if (seen === 0 || !isAlive(seen)) {
          if (this.#try(me)) return true;
          continue;
        }
        if (performance.now() >= deadline) return this.#giveUp(me);
        if (deadline === Infinity && isServedHere(seen)) {
          throw new Error(
            `Cannot acquire the ${what}: a "subprocess" child holds it, and its release is one of the calls this thread's event loop serves, which acquireSync() would block for good; use await acquire() here, or give acquireSync a timeout`,
          );
        }
        // Returns on release, on a (possibly spurious) wake, or at the end
        // of the slice; the loop re-reads the word in every case.
        waitSync(i32, OWNER, seen, sliceEnd(deadline));
      }
    } finally {
      Atomics.sub(i32, WAITERS, 1);
    }
  }

  async acquire(me: number, deadline: number): Promise<boolean> {
    if (this.#try(me)) return true;
    if (deadline === -Infinity) return false;
    const i32 = this.i32;
    Atomics.add(i32, WAITERS, 1);
    try {
      for (;;) {
        const seen = Atomics.load(i32, OWNER);
        if (seen === 0 || !isAlive(seen)) {
          if (this.#try(me)) return true;
          continue;
        }
        if (performance.now() >= deadline) return this.#giveUp(me);
        await waitAsync(i32, OWNER, seen, sliceEnd(deadline));
      }
    } finally {
      Atomics.sub(i32, WAITERS, 1);
    }
  }

  /**
   * Takes the mutex, runs `fn` and releases it again, all in one
   * synchronous step once the mutex is free; waiting does not block the
   * event loop. So the mutex is never held while other code of this
   * thread runs: a blocking acquire there (a served `Barrier.abort()`,
   * which the parent runs for another child) would otherwise wait for a
   * holder that only this blocked thread could let go on.
   */
  async runLocked<T>(me: number, fn: () => T): Promise<T> {
    const i32 = this.i32;
    while (!this.#try(me)) {
      Atomics.add(i32, WAITERS, 1);
      try {
        const seen = Atomics.load(i32, OWNER);
        if (seen !== 0 && isAlive(seen)) {
          await waitAsync(i32, OWNER, seen, sliceEnd(Infinity));
        }
      } finally {
        Atomics.sub(i32, WAITERS, 1);
      }
    }
    try {
      return fn();
    } finally {
      this.release(me, "lock");
    }
  }

  /**
   * A timed-out waiter may have been the one a release woke; if the
   * mutex is free now, pass that wake on so the others do not sleep out
   * their slice.
   */
  #giveUp(me: number): boolean {
    if (this.#try(me)) return true;
    if (
      Atomics.load(this.i32, OWNER) === 0 &&
      Atomics.load(this.i32, WAITERS) > 1
    ) {
      Atomics.notify(this.i32, OWNER, 1);
    }
    return false;
  }

  release(me: number, what: string): void {
    const owner = Atomics.load(this.i32, OWNER);
    if (owner !== me) {
      throw new ValueError(
        owner === 0
          ? `Cannot release the ${what}: it is not locked`
          : `Cannot release the ${what}: it is held by another process`,
      );
    }
    // Free the word first, then look for waiters (see the module doc).
    Atomics.store(this.i32, OWNER, 0);
    if (Atomics.load(this.i32, WAITERS) > 0) {
      Atomics.notify(this.i32, OWNER, 1);
    }
  }

  heldBy(me: number): boolean {
    return Atomics.load(this.i32, OWNER) === me;
  }

  locked(): boolean {
    return Atomics.load(this.i32, OWNER) !== 0;
  }
}

/**
 * What a `Condition` needs from its lock: to check it is held, and to
 * release it fully around a wait and take it back afterwards (an `RLock`
 * held three times is released and retaken three times deep).
 */
interface CondLock {
  heldByMe(): boolean;
  releaseSave(): number;
  restoreSync(saved: number): void;
  restore(saved: number): Promise<void>;
  /** Runs `fn` with the lock held, never across an await (see `Mutex`). */
  runLocked<T>(fn: () => T): Promise<T>;
}

let lockInternals: (lock: Lock | RLock) => CondLock;

// --- Lock ---------------------------------------------------------------

/**
 * A lock shared by processes (Python's `multiprocessing.Lock`). Only the
 * process that acquired it may release it; acquiring it again from the
 * holding process waits (use {@linkcode RLock} to re-enter).
 *
 * Beyond Python: when the holder dies (it was terminated, crashed or
 * exited) while holding the lock, the lock does not stay locked forever:
 * a waiter takes it over within about 50 ms, and {@linkcode Lock.ownerDied}
 * is `true` after that acquire, so the new holder can repair the data the
 * dead one may have left half-updated.
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
export class Lock implements Disposable {
  #m: Mutex;
  #id: string;

  static {
    registerShareable("mp.Lock", (data, id) =>
      revive(
        (data as { buf: SharedArrayBuffer }).buf,
        id,
        () => new Lock(),
      ));
    lockInternals = (lock) =>
      lock instanceof Lock ? lock.#internals() : rlockInternals(lock);
  }

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
    const a = adopt();
    this.#m = new Mutex(a?.buf ?? new SharedArrayBuffer(8));
    this.#id = a?.id ?? newShareId();
    rememberShared("mp.Lock", this.#id, this);
  }

  /**
   * Acquires the lock, waiting without blocking the event loop.
   *
   * @param options `block` and `timeout` (seconds).
   * @returns `true` when acquired; `false` when `block` is `false` and the
   * lock is taken, or when `timeout` passed first (nothing is held then).
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
    const me = currentKey();
    if (options === undefined && this.#m.tryFast(me)) return true;
    return await this.#m.acquire(me, acquireDeadline(options, "acquire lock"));
  }

  /**
   * Acquires the lock, blocking the thread. Works in workers; on the main
   * thread it blocks the event loop while it waits (Deno allows that).
   *
   * @param options `block` and `timeout` (seconds).
   * @returns `true` when acquired; `false` when `block` is `false` and the
   * lock is taken, or when `timeout` passed first.
   * @throws {Error} When this process already holds the lock and no
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
    const me = currentKey();
    if (options === undefined && this.#m.tryFast(me)) return true;
    return this.#m.acquireSync(
      me,
      acquireDeadline(options, "acquire lock"),
      "lock",
    );
  }

  /**
   * Acquires the lock and returns a guard that releases it when disposed.
   *
   * @param options `timeout` in seconds; no limit when omitted.
   * @returns The guard; its `ownerDied` tells whether the lock was taken
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
   * ```
   */
  lock(options?: { timeout?: number | null }): Promise<LockGuard> {
    return guardAsync(this, "lock", options, () => this.#m.ownerDied);
  }

  /**
   * Blocking twin of {@linkcode Lock.lock} (blocks the event loop on the
   * main thread).
   *
   * @param options `timeout` in seconds; no limit when omitted.
   * @returns The guard.
   * @throws {TimeoutError} When `timeout` passed first.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const lock = new mp.Lock();
   * {
   *   using _held = lock.lockSync();
   * }
   * console.log(lock.locked()); // false
   * ```
   */
  lockSync(options?: { timeout?: number | null }): LockGuard {
    return guardSync(this, "lock", options, () => this.#m.ownerDied);
  }

  /**
   * Releases the lock and wakes one waiter.
   *
   * @throws {ValueError} When the lock is not locked, or is held by
   * another process.
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
    this.#m.release(currentKey(), "lock");
  }

  /**
   * Whether some process holds the lock now.
   *
   * @returns `true` while held.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.Lock().locked()); // false
   * ```
   */
  locked(): boolean {
    return this.#m.locked();
  }

  /**
   * Whether this process's last successful acquire took the lock over
   * from a process that died while holding it. The data the lock guards
   * may then be inconsistent; repair it before releasing.
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
    return this.#m.ownerDied;
  }

  /**
   * Releases the lock, so that `lock.acquireSync(); using _ = lock;`
   * releases it at the end of the scope. Prefer {@linkcode Lock.lock}.
   *
   * @throws {ValueError} When this process does not hold the lock.
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
   * Describes the lock for another process.
   *
   * @returns The share descriptor.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    return {
      tag: "mp.Lock",
      id: this.#id,
      data: { buf: this.#m.i32.buffer },
    };
  }

  #internals(): CondLock {
    const m = this.#m;
    return {
      heldByMe: () => m.heldBy(currentKey()),
      releaseSave: () => {
        m.release(currentKey(), "lock");
        return 1;
      },
      restoreSync: () => {
        m.acquireSync(currentKey(), Infinity, "lock");
      },
      restore: async () => {
        await m.acquire(currentKey(), Infinity);
      },
      runLocked: (fn) => m.runLocked(currentKey(), fn),
    };
  }
}

// --- RLock --------------------------------------------------------------

let rlockInternals: (lock: RLock) => CondLock;

/**
 * A re-entrant lock shared by processes (Python's `multiprocessing.RLock`):
 * the holding process may acquire it again, and must release it as many
 * times. Releasing it from a process that does not hold it is an error.
 * Like {@linkcode Lock}, it is taken over when its holder dies
 * ({@linkcode RLock.ownerDied}); the re-entry count then starts over at 1.
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
export class RLock implements Disposable {
  #m: Mutex;
  #id: string;

  static {
    registerShareable("mp.RLock", (data, id) =>
      revive(
        (data as { buf: SharedArrayBuffer }).buf,
        id,
        () => new RLock(),
      ));
    rlockInternals = (lock) => lock.#internals();
  }

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
    const a = adopt();
    this.#m = new Mutex(a?.buf ?? new SharedArrayBuffer(12));
    this.#id = a?.id ?? newShareId();
    rememberShared("mp.RLock", this.#id, this);
  }

  /**
   * After the mutex was taken: a fresh hold starts the count at 1. The
   * count is only touched by the holder, and the mutex's own atomic
   * exchange orders it before the next holder's accesses, so plain reads
   * and writes suffice.
   */
  #took(): true {
    this.#m.i32[COUNT] = 1;
    return true;
  }

  /**
   * Acquires the lock (again, when this process holds it), waiting without
   * blocking the event loop.
   *
   * @param options `block` and `timeout` (seconds).
   * @returns `true` when acquired; `false` when `block` is `false` and
   * another process holds it, or when `timeout` passed first.
   * @throws {TypeError} (as a rejection) When `timeout` is not a number.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const rlock = new mp.RLock();
   * console.log(await rlock.acquire(), await rlock.acquire()); // true true
   * rlock.release();
   * rlock.release();
   * ```
   */
  async acquire(options?: AcquireOptions): Promise<boolean> {
    const me = currentKey();
    if (this.#reenter(me)) return true;
    if (this.#m.tryFast(me)) return this.#took();
    const ok = await this.#m.acquire(
      me,
      acquireDeadline(options, "acquire rlock"),
    );
    return ok && this.#took();
  }

  /**
   * Acquires the lock (again, when this process holds it), blocking the
   * thread; on the main thread it blocks the event loop while it waits.
   *
   * @param options `block` and `timeout` (seconds).
   * @returns `true` when acquired; `false` when `block` is `false` and
   * another process holds it, or when `timeout` passed first.
   * @throws {TypeError} When `timeout` is not a number.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const rlock = new mp.RLock();
   * console.log(rlock.acquireSync(), rlock.acquireSync()); // true true
   * rlock.release();
   * rlock.release();
   * ```
   */
  acquireSync(options?: AcquireOptions): boolean {
    const me = currentKey();
    if (this.#reenter(me)) return true;
    if (this.#m.tryFast(me)) return this.#took();
    const ok = this.#m.acquireSync(
      me,
      acquireDeadline(options, "acquire rlock"),
      "rlock",
    );
    return ok && this.#took();
  }

  /** Re-entry: only the holder writes the count, so no exchange needed. */
  #reenter(me: number): boolean {
    if (!this.#m.heldBy(me)) return false;
    this.#m.i32[COUNT]++;
    return true;
  }

  /**
   * Acquires the lock and returns a guard that releases it (once) when
   * disposed.
   *
   * @param options `timeout` in seconds; no limit when omitted.
   * @returns The guard.
   * @throws {TimeoutError} (as a rejection) When `timeout` passed first.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const rlock = new mp.RLock();
   * {
   *   using _outer = await rlock.lock();
   *   using _inner = await rlock.lock();
   * }
   * console.log(rlock.locked()); // false
   * ```
   */
  lock(options?: { timeout?: number | null }): Promise<LockGuard> {
    return guardAsync(this, "rlock", options, () => this.#m.ownerDied);
  }

  /**
   * Blocking twin of {@linkcode RLock.lock}.
   *
   * @param options `timeout` in seconds; no limit when omitted.
   * @returns The guard.
   * @throws {TimeoutError} When `timeout` passed first.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const rlock = new mp.RLock();
   * {
   *   using _held = rlock.lockSync();
   * }
   * ```
   */
  lockSync(options?: { timeout?: number | null }): LockGuard {
    return guardSync(this, "rlock", options, () => this.#m.ownerDied);
  }

  /**
   * Releases one level; the last release frees the lock and wakes one
   * waiter.
   *
   * @throws {ValueError} When this process does not hold the lock.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const rlock = new mp.RLock();
   * rlock.acquireSync();
   * rlock.release();
   * ```
   */
  release(): void {
    const me = currentKey();
    if (!this.#m.heldBy(me)) {
      throw new ValueError(
        this.#m.locked()
          ? "Cannot release the rlock: it is held by another process"
          : "Cannot release the rlock: it is not locked",
      );
    }
    if (--this.#m.i32[COUNT] === 0) this.#m.release(me, "rlock");
  }

  /**
   * Whether some process holds the lock now.
   *
   * @returns `true` while held.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.RLock().locked()); // false
   * ```
   */
  locked(): boolean {
    return this.#m.locked();
  }

  /**
   * Whether this process's last fresh acquire (not a re-entry) took the
   * lock over from a process that died while holding it.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const rlock = new mp.RLock();
   * console.log(rlock.ownerDied); // false
   * ```
   */
  get ownerDied(): boolean {
    return this.#m.ownerDied;
  }

  /**
   * Releases one level (see {@linkcode Lock[Symbol.dispose]}).
   *
   * @throws {ValueError} When this process does not hold the lock.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const rlock = new mp.RLock();
   * {
   *   rlock.acquireSync();
   *   using _r = rlock;
   * }
   * console.log(rlock.locked()); // false
   * ```
   */
  [Symbol.dispose](): void {
    this.release();
  }

  /**
   * Describes the lock for another process.
   *
   * @returns The share descriptor.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    return {
      tag: "mp.RLock",
      id: this.#id,
      data: { buf: this.#m.i32.buffer },
    };
  }

  #internals(): CondLock {
    const m = this.#m;
    return {
      heldByMe: () => m.heldBy(currentKey()),
      releaseSave: () => {
        const me = currentKey();
        if (!m.heldBy(me)) {
          throw new ValueError(
            "Cannot release the rlock: it is not held by this process",
          );
        }
        const saved = Atomics.exchange(m.i32, COUNT, 0);
        m.release(me, "rlock");
        return saved;
      },
      restoreSync: (saved) => {
        m.acquireSync(currentKey(), Infinity, "rlock");
        Atomics.store(m.i32, COUNT, saved);
      },
      restore: async (saved) => {
        await m.acquire(currentKey(), Infinity);
        Atomics.store(m.i32, COUNT, saved);
      },
      runLocked: (fn) =>
        m.runLocked(currentKey(), () => {
          Atomics.store(m.i32, COUNT, 1);
          try {
            return fn();
          } finally {
            Atomics.store(m.i32, COUNT, 0);
          }
        }),
    };
  }
}

// --- Semaphore ----------------------------------------------------------

/** Semaphore slots: the counter, and how many wait for it. */
const S_VALUE = 0;
const S_WAITERS = 1;

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
export class Semaphore implements Disposable {
  #i32: Int32Array;
  #id: string;
  #bound: number | null;

  static {
    registerShareable("mp.Semaphore", (data, id) => {
      const d = data as { buf: SharedArrayBuffer; bound: number | null };
      return revive(
        d.buf,
        id,
        () =>
          d.bound === null ? new Semaphore() : new BoundedSemaphore(d.bound),
      );
    });
  }

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
    if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
      throw new RangeError(
        `Cannot make a semaphore: 'value' must be a non-negative integer, got ${value}`,
      );
    }
    const a = adopt();
    this.#bound = this instanceof BoundedSemaphore ? value : null;
    this.#i32 = new Int32Array(a?.buf ?? new SharedArrayBuffer(8));
    if (a === undefined) this.#i32[S_VALUE] = value;
    this.#id = a?.id ?? newShareId();
    rememberShared("mp.Semaphore", this.#id, this);
  }

  /** Takes one unit if the counter is above 0. */
  #tryDown(): boolean {
    const i32 = this.#i32;
    let v = Atomics.load(i32, S_VALUE);
    while (v > 0) {
      const seen = Atomics.compareExchange(i32, S_VALUE, v, v - 1);
      if (seen === v) return true;
      v = seen;
    }
    return false;
  }

  /**
   * Takes one unit, waiting (without blocking the event loop) while the
   * counter is 0.
   *
   * @param options `block` and `timeout` (seconds).
   * @returns `true` when a unit was taken; `false` when `block` is `false`
   * and the counter is 0, or when `timeout` passed first.
   * @throws {TypeError} (as a rejection) When `timeout` is not a number.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const s = new mp.Semaphore(1);
   * console.log(await s.acquire(), await s.acquire({ block: false })); // true false
   * ```
   */
  async acquire(options?: AcquireOptions): Promise<boolean> {
    if (this.#tryDown()) return true;
    const deadline = acquireDeadline(options, "acquire semaphore");
    if (deadline === -Infinity) return false;
    const i32 = this.#i32;
    Atomics.add(i32, S_WAITERS, 1);
    try {
      for (;;) {
        if (this.#tryDown()) return true;
        // A wake may be spurious or another process may win the unit: the
        // loop tries again until the deadline.
        if (!(await waitAsync(i32, S_VALUE, 0, deadline))) {
          return this.#tryDown();
        }
      }
    } finally {
      Atomics.sub(i32, S_WAITERS, 1);
    }
  }

  /**
   * Blocking twin of {@linkcode Semaphore.acquire} (blocks the event loop
   * on the main thread).
   *
   * @param options `block` and `timeout` (seconds).
   * @returns `true` when a unit was taken; `false` when `block` is `false`
   * and the counter is 0, or when `timeout` passed first.
   * @throws {TypeError} When `timeout` is not a number.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const s = new mp.Semaphore(0);
   * console.log(s.acquireSync({ timeout: 0.01 })); // false
   * ```
   */
  acquireSync(options?: AcquireOptions): boolean {
    if (this.#tryDown()) return true;
    const deadline = acquireDeadline(options, "acquire semaphore");
    if (deadline === -Infinity) return false;
    const i32 = this.#i32;
    Atomics.add(i32, S_WAITERS, 1);
    try {
      for (;;) {
        if (this.#tryDown()) return true;
        if (!waitSync(i32, S_VALUE, 0, deadline)) return this.#tryDown();
      }
    } finally {
      Atomics.sub(i32, S_WAITERS, 1);
    }
  }

  /**
   * Takes one unit and returns a guard that gives it back when disposed.
   *
   * @param options `timeout` in seconds; no limit when omitted.
   * @returns The guard (its `ownerDied` is always `false`).
   * @throws {TimeoutError} (as a rejection) When `timeout` passed first.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const s = new mp.Semaphore(2);
   * {
   *   using _unit = await s.lock();
   * }
   * ```
   */
  lock(options?: { timeout?: number | null }): Promise<LockGuard> {
    return guardAsync(this, "semaphore", options, () => false);
  }

  /**
   * Blocking twin of {@linkcode Semaphore.lock}.
   *
   * @param options `timeout` in seconds; no limit when omitted.
   * @returns The guard.
   * @throws {TimeoutError} When `timeout` passed first.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const s = new mp.Semaphore(2);
   * {
   *   using _unit = s.lockSync();
   * }
   * ```
   */
  lockSync(options?: { timeout?: number | null }): LockGuard {
    return guardSync(this, "semaphore", options, () => false);
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
  release(n: number = 1): void {
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(
        `Cannot release the semaphore: 'n' must be a positive integer, got ${n}`,
      );
    }
    const i32 = this.#i32;
    if (this.#bound === null) {
      Atomics.add(i32, S_VALUE, n);
    } else {
      let v = Atomics.load(i32, S_VALUE);
      for (;;) {
        if (v + n > this.#bound) {
          throw new ValueError(
            `Cannot release the semaphore: it would go above its bound ${this.#bound} (released too many times)`,
          );
        }
        const seen = Atomics.compareExchange(i32, S_VALUE, v, v + n);
        if (seen === v) break;
        v = seen;
      }
    }
    if (Atomics.load(i32, S_WAITERS) > 0) Atomics.notify(i32, S_VALUE, n);
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
    return Atomics.load(this.#i32, S_VALUE);
  }

  /**
   * Gives one unit back (see {@linkcode Lock[Symbol.dispose]}).
   *
   * @throws {ValueError} On a bounded semaphore already at its bound.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const s = new mp.Semaphore(1);
   * {
   *   s.acquireSync();
   *   using _s = s;
   * }
   * console.log(s.getValue()); // 1
   * ```
   */
  [Symbol.dispose](): void {
    this.release();
  }

  /**
   * Describes the semaphore for another process.
   *
   * @returns The share descriptor.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    return {
      tag: "mp.Semaphore",
      id: this.#id,
      data: { buf: this.#i32.buffer, bound: this.#bound },
    };
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

// --- Event --------------------------------------------------------------

/**
 * A flag shared by processes (Python's `multiprocessing.Event`): `wait`
 * blocks until some process calls `set`.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 *
 * const ready = new mp.Event();
 * console.log(await ready.wait(0.01)); // false (timed out)
 * ready.set();
 * console.log(await ready.wait()); // true
 * ```
 */
export class Event {
  #i32: Int32Array;
  #id: string;

  static {
    registerShareable("mp.Event", (data, id) =>
      revive(
        (data as { buf: SharedArrayBuffer }).buf,
        id,
        () => new Event(),
      ));
  }

  /**
   * Makes an event whose flag is clear.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.Event().isSet()); // false
   * ```
   */
  constructor() {
    const a = adopt();
    this.#i32 = new Int32Array(a?.buf ?? new SharedArrayBuffer(4));
    this.#id = a?.id ?? newShareId();
    rememberShared("mp.Event", this.#id, this);
  }

  /**
   * Whether the flag is set.
   *
   * @returns The flag.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const e = new mp.Event();
   * e.set();
   * console.log(e.isSet()); // true
   * ```
   */
  isSet(): boolean {
    return Atomics.load(this.#i32, 0) === 1;
  }

  /**
   * Sets the flag and wakes every waiter, in every process.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const e = new mp.Event();
   * e.set();
   * ```
   */
  set(): void {
    Atomics.store(this.#i32, 0, 1);
    Atomics.notify(this.#i32, 0);
  }

  /**
   * Clears the flag; later waits block until the next `set`.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const e = new mp.Event();
   * e.set();
   * e.clear();
   * console.log(e.isSet()); // false
   * ```
   */
  clear(): void {
    Atomics.store(this.#i32, 0, 0);
  }

  /**
   * Waits (without blocking the event loop) until the flag is set.
   *
   * @param timeout The most seconds to wait; no limit when omitted.
   * @returns `true` when the flag is set; `false` when `timeout` passed
   * first (no error is thrown, as in Python).
   * @throws {TypeError} (as a rejection) When `timeout` is not a number.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const e = new mp.Event();
   * setTimeout(() => e.set(), 10);
   * console.log(await e.wait(5)); // true
   * ```
   */
  async wait(timeout?: number | null): Promise<boolean> {
    const i32 = this.#i32;
    if (Atomics.load(i32, 0) === 1) return true;
    const deadline = deadlineFrom(timeout, "wait for the event");
    // Loop: a wake can be spurious, or the flag cleared again before this
    // waiter ran.
    while (Atomics.load(i32, 0) !== 1) {
      if (!(await waitAsync(i32, 0, 0, deadline))) break;
    }
    return Atomics.load(i32, 0) === 1;
  }

  /**
   * Blocking twin of {@linkcode Event.wait} (blocks the event loop on the
   * main thread).
   *
   * @param timeout The most seconds to wait; no limit when omitted.
   * @returns `true` when the flag is set; `false` when `timeout` passed
   * first.
   * @throws {TypeError} When `timeout` is not a number.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.Event().waitSync(0.01)); // false
   * ```
   */
  waitSync(timeout?: number | null): boolean {
    const i32 = this.#i32;
    if (Atomics.load(i32, 0) === 1) return true;
    const deadline = deadlineFrom(timeout, "wait for the event");
    while (Atomics.load(i32, 0) !== 1) {
      if (!waitSync(i32, 0, 0, deadline)) break;
    }
    return Atomics.load(i32, 0) === 1;
  }

  /**
   * Describes the event for another process.
   *
   * @returns The share descriptor.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    return { tag: "mp.Event", id: this.#id, data: { buf: this.#i32.buffer } };
  }
}

// --- Condition ----------------------------------------------------------

/**
 * Condition layout: a header, then one record per waiting caller. Each
 * waiter sleeps on its own record, so a notify goes to the waiters that
 * were there when it was called and cannot be taken by one that comes
 * later (a shared counter of wake tokens could be: a new waiter could take
 * a token meant for an old one, which then sleeps through a notifyAll).
 */
const C_WAITING = 0; // records in state WAITING
const C_HIGH = 1; // records in use are all below this index
const C_SEQ = 2; // next arrival number, for first-come-first-woken order
const C_HEADER = 3;
/** A record: its state, its arrival number, its waiter's process key. */
const R_STATE = 0;
const R_SEQ = 1;
const R_KEY = 2;
const R_SIZE = 3;
const R_FREE = 0;
const R_WAITING = 1;
const R_NOTIFIED = 2;
/** How many callers may wait on one condition at once. */
const CONDITION_CAPACITY = 1024;

/**
 * Runs a wait loop written as a generator, for `Barrier` (set by
 * `Condition`): each yield is a condition wait until the deadline yielded,
 * and gets back whether it was woken.
 */
let condDrive: <T>(
  c: Condition,
  run: Generator<number, T, boolean>,
) => Promise<T>;
let condWaitUntilSync: (c: Condition, deadline: number) => boolean;

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
  #i32: Int32Array;
  #id: string;
  #lock: Lock | RLock;
  #core: CondLock;

  static {
    registerShareable("mp.Condition", (data, id) => {
      const d = data as { buf: SharedArrayBuffer; lock: unknown };
      const lock = decodeShared(d.lock) as Lock | RLock;
      return revive(d.buf, id, () => new Condition(lock));
    });
    condDrive = (c, run) => c.#drive(run);
    condWaitUntilSync = (c, deadline) => c.#waitUntilSync(deadline);
  }

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
    const a = adopt();
    if (
      lock !== undefined && !(lock instanceof Lock) && !(lock instanceof RLock)
    ) {
      throw new TypeError(
        "Cannot make a condition: 'lock' must be a Lock or an RLock",
      );
    }
    this.#lock = lock ?? new RLock();
    this.#core = lockInternals(this.#lock);
    this.#i32 = new Int32Array(
      a?.buf ??
        new SharedArrayBuffer((C_HEADER + CONDITION_CAPACITY * R_SIZE) * 4),
    );
    this.#id = a?.id ?? newShareId();
    rememberShared("mp.Condition", this.#id, this);
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
    if (!this.#core.heldByMe()) {
      throw new Error(
        `Cannot ${action}: the condition's lock is not held by this process; acquire it first`,
      );
    }
  }

  /**
   * Takes a free record for a new waiter (lock held) and returns the
   * index of its state word.
   */
  #register(): number {
    const i32 = this.#i32;
    const high = Atomics.load(i32, C_HIGH);
    let r = 0;
    for (; r < high; r++) {
      const at = C_HEADER + r * R_SIZE;
      const state = Atomics.load(i32, at + R_STATE);
      if (state === R_FREE) break;
      // A record left by a process that died while waiting is reused.
      if (!isAlive(Atomics.load(i32, at + R_KEY))) {
        if (state === R_WAITING) Atomics.sub(i32, C_WAITING, 1);
        break;
      }
    }
    if (r === high) {
      if (high === CONDITION_CAPACITY) {
        throw new Error(
          `Cannot wait on the condition: ${CONDITION_CAPACITY} callers wait on it already`,
        );
      }
      Atomics.store(i32, C_HIGH, high + 1);
    }
    const at = C_HEADER + r * R_SIZE;
    Atomics.store(i32, at + R_SEQ, Atomics.add(i32, C_SEQ, 1));
    Atomics.store(i32, at + R_KEY, currentKey());
    Atomics.store(i32, at + R_STATE, R_WAITING);
    Atomics.add(i32, C_WAITING, 1);
    return at;
  }

  /**
   * After the wait, with the lock held again: frees the record and tells
   * whether it was notified. A notify may have come between the timeout
   * and taking the lock back; it counted on this waiter, so that is a
   * wake, not a timeout.
   */
  #unregister(at: number): boolean {
    const i32 = this.#i32;
    const notified = Atomics.load(i32, at + R_STATE) === R_NOTIFIED;
    if (!notified) Atomics.sub(i32, C_WAITING, 1);
    Atomics.store(i32, at + R_STATE, R_FREE);
    // Keep the scanned range short once the last records are free.
    let high = Atomics.load(i32, C_HIGH);
    while (
      high > 0 &&
      Atomics.load(i32, C_HEADER + (high - 1) * R_SIZE) === R_FREE
    ) high--;
    Atomics.store(i32, C_HIGH, high);
    return notified;
  }

  /** Waits until `deadline` (a `performance.now()` time); lock held. */
  async #waitUntil(deadline: number): Promise<boolean> {
    this.#checkHeld("wait on the condition");
    const at = this.#register();
    const saved = this.#core.releaseSave();
    const i32 = this.#i32;
    try {
      // Only a notify changes the record; any other return of the wait is
      // spurious and the loop sleeps again until the deadline.
      while (Atomics.load(i32, at + R_STATE) === R_WAITING) {
        if (!(await waitAsync(i32, at + R_STATE, R_WAITING, deadline))) break;
      }
    } finally {
      await this.#core.restore(saved);
    }
    return this.#unregister(at);
  }

  /**
   * Runs `run` with the lock held in each of its steps and a wait on the
   * condition at each yield (until the deadline it yields). Unlike a
   * loop of `#waitUntil`, the lock is taken and released around each step
   * in one synchronous go (`runLocked`), never held across an await: the
   * step before a wait registers the waiter and lets go, the step after
   * takes the lock and withdraws it. A blocking acquire in this thread
   * (`Barrier.abort()`) then never waits on a holder it stops.
   */
  async #drive<T>(run: Generator<number, T, boolean>): Promise<T> {
    const i32 = this.#i32;
    const core = this.#core;
    let at = -1;
    let failure: { err: unknown } | undefined;
    for (;;) {
      const step = await core.runLocked(() => {
        let s: IteratorResult<number, T>;
        if (at < 0) s = run.next();
        else {
          const woken = this.#unregister(at);
          at = -1;
          s = failure === undefined ? run.next(woken) : run.throw(failure.err);
          failure = undefined;
        }
        while (!s.done) {
          try {
            at = this.#register();
            break;
          } catch (err) {
            s = run.throw(err); // no record free: `run` cleans up
          }
        }
        return s;
      });
      if (step.done) return step.value;
      try {
        // Only a notify changes the record (see `#waitUntil`).
        while (Atomics.load(i32, at + R_STATE) === R_WAITING) {
          if (!(await waitAsync(i32, at + R_STATE, R_WAITING, step.value))) {
            break;
          }
        }
      } catch (err) {
        failure = { err };
      }
    }
  }

  /** Blocking twin of `#waitUntil`. */
  #waitUntilSync(deadline: number): boolean {
    this.#checkHeld("wait on the condition");
    const at = this.#register();
    const saved = this.#core.releaseSave();
    const i32 = this.#i32;
    try {
      while (Atomics.load(i32, at + R_STATE) === R_WAITING) {
        if (!waitSync(i32, at + R_STATE, R_WAITING, deadline)) break;
      }
    } finally {
      this.#core.restoreSync(saved);
    }
    return this.#unregister(at);
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
    return await this.#waitUntil(
      deadlineFrom(timeout, "wait on the condition"),
    );
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
    return this.#waitUntilSync(deadlineFrom(timeout, "wait on the condition"));
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
    let result = predicate();
    while (!result) {
      if (performance.now() >= deadline) break;
      await this.#waitUntil(deadline);
      result = predicate();
    }
    return result;
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
    let result = predicate();
    while (!result) {
      if (performance.now() >= deadline) break;
      this.#waitUntilSync(deadline);
      result = predicate();
    }
    return result;
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
    const i32 = this.#i32;
    // Records only change under the lock, which we hold.
    let left = n;
    while (left > 0 && Atomics.load(i32, C_WAITING) > 0) {
      // The oldest waiting record (arrival numbers wrap, so compare by
      // difference); records of dead processes are dropped on the way.
      const high = Atomics.load(i32, C_HIGH);
      let best = -1;
      let bestSeq = 0;
      for (let r = 0; r < high; r++) {
        const at = C_HEADER + r * R_SIZE;
        if (Atomics.load(i32, at + R_STATE) !== R_WAITING) continue;
        if (!isAlive(Atomics.load(i32, at + R_KEY))) {
          Atomics.store(i32, at + R_STATE, R_FREE);
          Atomics.sub(i32, C_WAITING, 1);
          continue;
        }
        const seq = Atomics.load(i32, at + R_SEQ);
        if (best < 0 || ((seq - bestSeq) | 0) < 0) {
          best = at;
          bestSeq = seq;
        }
        // notifyAll wakes every record in this one pass.
        if (left === Infinity) this.#wake(at);
      }
      if (best < 0 || left === Infinity) break;
      this.#wake(best);
      left--;
    }
  }

  #wake(at: number): void {
    Atomics.store(this.#i32, at + R_STATE, R_NOTIFIED);
    Atomics.sub(this.#i32, C_WAITING, 1);
    Atomics.notify(this.#i32, at + R_STATE);
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
    return {
      tag: "mp.Condition",
      id: this.#id,
      data: { buf: this.#i32.buffer, lock: encodeShared(this.#lock) },
    };
  }
}

// --- Barrier ------------------------------------------------------------

/** Barrier slots: its state (below), and how many are inside `wait`. */
const B_STATE = 0;
const B_COUNT = 1;
/** Barrier states, as in CPython's `threading.Barrier`. */
const FILLING = 0;
const DRAINING = 1;
const RESETTING = -1;
const BROKEN = -2;

/**
 * A barrier for a fixed number of parties across processes (Python's
 * `multiprocessing.Barrier`): each `wait` blocks until `parties` callers
 * wait, then all pass together and the barrier is ready for the next
 * round. Built as CPython builds it, on a {@linkcode Condition}: callers
 * that come for the next round while the last one drains wait for it.
 *
 * The optional `action` runs once per round, in the process of the last
 * party to arrive, before any party is released. A function cannot cross
 * to another process, so a barrier with an `action` cannot be passed to
 * one (it throws a `TypeError` there); across processes, do the action
 * where `wait()` returned `0` instead, as the example shows.
 *
 * @example One action per round across processes
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 *
 * const barrier = new mp.Barrier(1);
 * const index = await barrier.wait();
 * if (index === 0) console.log("every party arrived");
 * ```
 */
export class Barrier {
  #i32: Int32Array;
  #id: string;
  #cond: Condition;
  #parties: number;
  #action: (() => void) | undefined;
  #timeout: number | null;

  static {
    registerShareable("mp.Barrier", (data, id) => {
      const d = data as {
        buf: SharedArrayBuffer;
        cond: unknown;
        parties: number;
        timeout: number | null;
      };
      condForRevive = decodeShared(d.cond) as Condition;
      try {
        return revive(
          d.buf,
          id,
          () => new Barrier(d.parties, undefined, d.timeout),
        );
      } finally {
        condForRevive = undefined;
      }
    });
  }

  /**
   * Makes a barrier for `parties` callers.
   *
   * @param parties How many must wait before all pass.
   * @param action Runs once per round, in the last party's process, before
   * the parties are released; if it throws, the barrier breaks and that
   * `wait` rethrows.
   * @param timeout Default timeout of `wait`, in seconds; none when
   * omitted.
   * @throws {RangeError} When `parties` is not a positive integer.
   * @throws {TypeError} When `action` is not a function.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const b = new mp.Barrier(3, undefined, 10);
   * console.log(b.parties, b.nWaiting, b.broken); // 3 0 false
   * ```
   */
  constructor(
    parties: number,
    action?: (() => void) | null,
    timeout?: number | null,
  ) {
    const a = adopt();
    if (!Number.isInteger(parties) || parties < 1 || parties > 0x7fffffff) {
      throw new RangeError(
        `Cannot make a barrier: 'parties' must be a positive integer, got ${parties}`,
      );
    }
    if (
      action !== undefined && action !== null && typeof action !== "function"
    ) {
      throw new TypeError("Cannot make a barrier: 'action' must be a function");
    }
    if (timeout !== undefined && timeout !== null) {
      deadlineFrom(timeout, "make a barrier"); // validates
    }
    this.#parties = parties;
    this.#action = action ?? undefined;
    this.#timeout = timeout ?? null;
    this.#cond = condForRevive ?? new Condition(new Lock());
    this.#i32 = new Int32Array(a?.buf ?? new SharedArrayBuffer(8));
    this.#id = a?.id ?? newShareId();
    rememberShared("mp.Barrier", this.#id, this);
  }

  /** How many parties must wait before all pass. */
  get parties(): number {
    return this.#parties;
  }

  /** How many parties wait now (0 while the last round drains). */
  get nWaiting(): number {
    return Atomics.load(this.#i32, B_STATE) === FILLING
      ? Atomics.load(this.#i32, B_COUNT)
      : 0;
  }

  /** Whether the barrier is broken (see {@linkcode Barrier.reset}). */
  get broken(): boolean {
    return Atomics.load(this.#i32, B_STATE) === BROKEN;
  }

  /**
   * Waits (without blocking the event loop) until `parties` callers wait,
   * then passes with them.
   *
   * @param timeout The most seconds to wait; the barrier's own timeout
   * when omitted. On timeout the barrier breaks: this and every other
   * waiter get a {@linkcode BrokenBarrierError}.
   * @returns This caller's arrival index, `0` to `parties - 1`, different
   * for each party (`parties - 1` for the last to arrive).
   * @throws {BrokenBarrierError} (as a rejection) When the barrier is or
   * becomes broken (abort, reset, timeout, or a throwing action).
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const b = new mp.Barrier(2);
   * console.log(await Promise.all([b.wait(), b.wait()])); // [0, 1]
   * ```
   */
  async wait(timeout?: number | null): Promise<number> {
    const deadline = deadlineFrom(
      timeout ?? this.#timeout,
      "wait at the barrier",
    );
    // The lock is never held across an await here (see `#drive`), so
    // abort() and reset() in this thread never wait for this call.
    return await condDrive(this.#cond, this.#run(deadline));
  }

  /**
   * Blocking twin of {@linkcode Barrier.wait} (blocks the event loop on
   * the main thread).
   *
   * @param timeout The most seconds to wait; the barrier's own timeout
   * when omitted. On timeout the barrier breaks.
   * @returns This caller's arrival index, `0` to `parties - 1`.
   * @throws {BrokenBarrierError} When the barrier is or becomes broken.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.Barrier(1).waitSync()); // 0
   * ```
   */
  waitSync(timeout?: number | null): number {
    const deadline = deadlineFrom(
      timeout ?? this.#timeout,
      "wait at the barrier",
    );
    const cond = this.#cond;
    cond.acquireSync();
    try {
      const run = this.#run(deadline);
      let step = run.next();
      while (!step.done) {
        let woken: boolean;
        try {
          woken = condWaitUntilSync(cond, step.value);
        } catch (err) {
          step = run.throw(err);
          continue;
        }
        step = run.next(woken);
      }
      return step.value;
    } finally {
      cond.release();
    }
  }

  /**
   * CPython's `Barrier.wait`, written once for both twins: it yields the
   * deadline of each condition wait and gets back whether it was woken.
   * Runs with the condition's lock held; every state change is under it.
   */
  *#run(deadline: number): Generator<number, number, boolean> {
    const i32 = this.#i32;
    // Wait while the previous round drains or a reset completes.
    for (;;) {
      const s = Atomics.load(i32, B_STATE);
      if (s !== DRAINING && s !== RESETTING) break;
      yield Infinity;
    }
    if (Atomics.load(i32, B_STATE) === BROKEN) throw new BrokenBarrierError();
    const index = Atomics.add(i32, B_COUNT, 1);
    try {
      if (index + 1 === this.#parties) {
        try {
          this.#action?.();
        } catch (err) {
          this.#break();
          throw err;
        }
        Atomics.store(i32, B_STATE, DRAINING);
        this.#cond.notifyAll();
      } else {
        // Spurious wakes just loop: only the state says whether to pass.
        while (Atomics.load(i32, B_STATE) === FILLING) {
          const woken = yield deadline;
          if (!woken && Atomics.load(i32, B_STATE) === FILLING) {
            this.#break();
            throw new BrokenBarrierError(
              "Cannot pass the barrier: the wait timed out, which breaks it; call reset() to use it again",
            );
          }
        }
        if (Atomics.load(i32, B_STATE) < 0) throw new BrokenBarrierError();
      }
      return index;
    } finally {
      // The last one out of a drained or reset round lets the next in.
      if (Atomics.sub(i32, B_COUNT, 1) === 1) {
        const s = Atomics.load(i32, B_STATE);
        if (s === DRAINING || s === RESETTING) {
          Atomics.store(i32, B_STATE, FILLING);
          this.#cond.notifyAll();
        }
      }
    }
  }

  #break(): void {
    Atomics.store(this.#i32, B_STATE, BROKEN);
    this.#cond.notifyAll();
  }

  /**
   * Returns the barrier to its initial state. Parties waiting now get a
   * {@linkcode BrokenBarrierError}. Blocks briefly for the barrier's
   * internal lock.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const b = new mp.Barrier(2);
   * b.abort();
   * b.reset();
   * console.log(b.broken); // false
   * ```
   */
  reset(): void {
    const i32 = this.#i32;
    using _held = this.#cond.lockSync();
    if (Atomics.load(i32, B_COUNT) > 0) {
      const s = Atomics.load(i32, B_STATE);
      if (s === FILLING || s === BROKEN) Atomics.store(i32, B_STATE, RESETTING);
    } else {
      Atomics.store(i32, B_STATE, FILLING);
    }
    this.#cond.notifyAll();
  }

  /**
   * Breaks the barrier: waiting and later parties get a
   * {@linkcode BrokenBarrierError} until {@linkcode Barrier.reset}. Use it
   * when a party cannot come, so the others do not wait forever.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const b = new mp.Barrier(2);
   * b.abort();
   * console.log(b.broken); // true
   * ```
   */
  abort(): void {
    using _held = this.#cond.lockSync();
    this.#break();
  }

  /**
   * Describes the barrier for another process.
   *
   * @returns The share descriptor.
   * @throws {TypeError} When the barrier has an `action`.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    if (this.#action !== undefined) {
      throw new TypeError(
        "Cannot send a Barrier with an action to another process: a function cannot cross; make it without one and run the action where wait() returns 0",
      );
    }
    return {
      tag: "mp.Barrier",
      id: this.#id,
      data: {
        buf: this.#i32.buffer,
        cond: encodeShared(this.#cond),
        parties: this.#parties,
        timeout: this.#timeout,
      },
    };
  }
}

/** The revived condition of a barrier being revived (see the reviver). */
let condForRevive: Condition | undefined;
