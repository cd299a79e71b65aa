/**
 * The engine under `Lock` and `RLock` (CPython's `_multiprocessing.SemLock`
 * of kind `MUTEX` / `RECURSIVE_MUTEX`): a futex mutex in shared memory
 * whose state word is the holder's process key.
 *
 * Keeping the key in the very word that is compare-exchanged means there
 * is no moment when the lock is taken but its owner unknown, so a holder
 * dying at any instant leaves a lock that can be recognised and taken
 * over. Waiters sleep in slices of {@linkcode SLICE_MS} and, on each wake,
 * look whether the holder is still alive.
 *
 * Every wait is a wait loop for `_shm/drive.ts`, so the blocking and the
 * async twin of an acquire share it. A loop told it runs `blocking`
 * refuses the waits that would never end in a blocked thread.
 *
 * @module
 */

import { ValueError } from "../errors.ts";
import { currentKey, isAlive, isServedHere } from "../_common/runtime.ts";
import type { Steps } from "../_shm/drive.ts";
import type { SemCore } from "./semlock.ts";

/** Slot of the holder's key (0 when free). */
const OWNER = 0;
/** Slot counting the callers waiting for the mutex. */
const WAITERS = 1;
/** Slot of an RLock's re-entry count (written by the holder only). */
const COUNT = 2;

/**
 * How long a lock waiter sleeps before it looks whether the holder died.
 * A dead holder's lock is handed on within about this time.
 */
const SLICE_MS = 50;

/** The end of the next sleep: a slice, or the deadline if sooner. */
function sliceEnd(deadline: number): number {
  return Math.min(deadline, performance.now() + SLICE_MS);
}

/** A futex mutex keyed by its holder, re-entrant or not (module doc). */
export class Mutex implements SemCore {
  /** The shared slots: owner, waiters and (re-entrant) the count. */
  readonly i32: Int32Array;
  /** Whether the holder may take it again (an RLock). */
  readonly reentrant: boolean;
  /** Set by the acquire that took the mutex over from a dead holder. */
  ownerDied = false;

  /**
   * @param reentrant Whether it is an RLock's.
   * @param buf The shared state of an existing mutex (a revived one).
   */
  constructor(reentrant: boolean, buf?: SharedArrayBuffer) {
    this.reentrant = reentrant;
    this.i32 = new Int32Array(buf ?? new SharedArrayBuffer(reentrant ? 12 : 8));
  }

  /** The primitive's name in messages. */
  get what(): string {
    return this.reentrant ? "rlock" : "lock";
  }

  /** The primitive's share tag. */
  get tag(): string {
    return this.reentrant ? "mp.RLock" : "mp.Lock";
  }

  /** What crosses to another process. */
  data(): { buf: SharedArrayBuffer } {
    return { buf: this.i32.buffer as SharedArrayBuffer };
  }

  /** The same kind of mutex over what {@linkcode Mutex.data} sent. */
  revive(data: unknown): Mutex {
    return new Mutex(this.reentrant, (data as { buf: SharedArrayBuffer }).buf);
  }

  /**
   * Fast path: one compare-exchange, or a re-entry. The count is only
   * touched by the holder, and the owner word's atomic exchange orders it
   * before the next holder's accesses, so plain reads and writes suffice.
   */
  tryFast(): boolean {
    const me = currentKey();
    const seen = Atomics.compareExchange(this.i32, OWNER, 0, me);
    if (seen === 0) {
      this.ownerDied = false;
      if (this.reentrant) this.i32[COUNT] = 1;
      return true;
    }
    if (seen === me && this.reentrant) {
      this.i32[COUNT]++;
      return true;
    }
    return false;
  }

  /**
   * An acquire: a re-entry, or a fresh hold whose count starts at 1.
   *
   * @param deadline `-Infinity` tries once.
   * @param blocking Whether a blocked thread drives the loop.
   */
  *acquire(deadline: number, blocking: boolean): Steps<boolean> {
    if (this.tryFast()) return true;
    if (!(yield* this.take(deadline, blocking))) return false;
    if (this.reentrant) this.i32[COUNT] = 1;
    return true;
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

  /**
   * Takes the owner word (never a re-entry: another async task of this
   * process may hold it, and then this waits for it).
   *
   * @param deadline `-Infinity` tries once.
   * @param blocking Whether a blocked thread drives the loop: then a wait
   * that nothing could end throws instead.
   * @returns Whether it was taken before the deadline.
   */
  *take(deadline: number, blocking: boolean): Steps<boolean> {
    const me = currentKey();
    if (this.#try(me)) return true;
    if (deadline === -Infinity) return false;
    const i32 = this.i32;
    if (blocking && deadline === Infinity && Atomics.load(i32, OWNER) === me) {
      // Nothing else in this thread can run to release it.
      throw new Error(
        `Cannot acquire the ${this.what}: this process already holds it, so acquireSync() would wait forever; use an RLock to re-enter`,
      );
    }
    Atomics.add(i32, WAITERS, 1);
    try {
      for (;;) {
        const seen = Atomics.load(i32, OWNER);
        if (seen === 0 || !isAlive(seen)) {
          if (this.#try(me)) return true;
          continue;
        }
        if (performance.now() >= deadline) return this.#giveUp(me);
        if (blocking && deadline === Infinity && isServedHere(seen)) {
          throw new Error(
            `Cannot acquire the ${this.what}: a "subprocess" child holds it, and its release is one of the calls this thread's event loop serves, which acquireSync() would block for good; use await acquire() here, or give acquireSync a timeout`,
          );
        }
        // Ends on release, on a (possibly spurious) wake, or at the end
        // of the slice; the loop re-reads the word in every case.
        yield {
          slot: OWNER,
          expected: seen,
          deadline: sliceEnd(deadline),
          array: i32,
        };
      }
    } finally {
      Atomics.sub(i32, WAITERS, 1);
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

  /** Releases one level (an RLock's last frees it) and wakes one waiter. */
  release(): void {
    this.#checkMine();
    if (this.reentrant && --this.i32[COUNT] > 0) return;
    this.#free();
  }

  #checkMine(): void {
    const owner = Atomics.load(this.i32, OWNER);
    if (owner !== currentKey()) {
      throw new ValueError(
        owner === 0
          ? `Cannot release the ${this.what}: it is not locked`
          : `Cannot release the ${this.what}: it is held by another process`,
      );
    }
  }

  #free(): void {
    // Free the word first, then look for waiters (see `synchronize.ts`).
    Atomics.store(this.i32, OWNER, 0);
    if (Atomics.load(this.i32, WAITERS) > 0) {
      Atomics.notify(this.i32, OWNER, 1);
    }
  }

  /**
   * Releases every level, for a condition wait.
   *
   * @returns What {@linkcode Mutex.restore} takes back: the re-entry depth.
   */
  releaseSave(): number {
    this.#checkMine();
    const saved = this.reentrant ? Atomics.exchange(this.i32, COUNT, 0) : 1;
    this.#free();
    return saved;
  }

  /** Takes the mutex back after a condition wait, as deep as it was. */
  *restore(saved: number, blocking: boolean): Steps<void> {
    yield* this.take(Infinity, blocking);
    if (this.reentrant) Atomics.store(this.i32, COUNT, saved);
  }

  /**
   * Takes the mutex, runs `fn` and releases it again, all in one
   * synchronous step of the driver once the mutex is free. So the mutex
   * is never held while other code of this thread runs: a blocking
   * acquire there (a served `Barrier.abort()`, which the parent runs for
   * another child) would otherwise wait for a holder that only this
   * blocked thread could let go on.
   */
  *runLocked<T>(fn: () => T, blocking: boolean): Steps<T> {
    yield* this.take(Infinity, blocking);
    if (this.reentrant) this.i32[COUNT] = 1;
    try {
      return fn();
    } finally {
      this.release();
    }
  }

  /** Whether this process holds the mutex. */
  heldByMe(): boolean {
    return Atomics.load(this.i32, OWNER) === currentKey();
  }

  /** Whether some process holds the mutex. */
  locked(): boolean {
    return Atomics.load(this.i32, OWNER) !== 0;
  }
}
