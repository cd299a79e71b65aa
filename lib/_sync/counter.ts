/**
 * The engine under `Semaphore` and `BoundedSemaphore` (CPython's
 * `_multiprocessing.SemLock` of kind `SEMAPHORE`): a counter in shared
 * memory that an acquire takes one unit of, waiting while it is 0. It has
 * no owner, so a process that dies holding a unit does not give it back
 * (as with POSIX semaphores).
 *
 * @module
 */

import { ValueError } from "../errors.ts";
import type { Steps } from "../_shm/drive.ts";
import type { SemCore } from "./semlock.ts";

/** Slot of the counter. */
const VALUE = 0;
/** Slot counting the callers waiting for a unit. */
const WAITERS = 1;

/** What crosses to another process. */
interface CounterData {
  buf: SharedArrayBuffer;
  bound: number | null;
}

/** A semaphore's shared counter, bounded or not (module doc). */
export class Counter implements SemCore {
  /** The shared slots: the counter and its waiters. */
  readonly i32: Int32Array;
  /** The most units a release may give back to, or `null`. */
  readonly bound: number | null;
  /** A semaphore has no owner who could die. */
  readonly ownerDied = false;
  /** The primitive's name in messages. */
  readonly what = "semaphore";
  /** The primitive's share tag (bounded or not: the data says). */
  readonly tag = "mp.Semaphore";

  /**
   * @param value The initial counter, ignored when `buf` is given.
   * @param bound The most units, or `null`.
   * @param buf The shared state of an existing counter (a revived one).
   */
  constructor(value: number, bound: number | null, buf?: SharedArrayBuffer) {
    this.bound = bound;
    this.i32 = new Int32Array(buf ?? new SharedArrayBuffer(8));
    if (buf === undefined) this.i32[VALUE] = value;
  }

  /** What crosses to another process. */
  data(): CounterData {
    return { buf: this.i32.buffer as SharedArrayBuffer, bound: this.bound };
  }

  /** The counter over what {@linkcode Counter.data} sent. */
  revive(data: unknown): Counter {
    const d = data as CounterData;
    return new Counter(0, d.bound, d.buf);
  }

  /** Takes one unit if the counter is above 0. */
  tryFast(): boolean {
    const i32 = this.i32;
    let v = Atomics.load(i32, VALUE);
    while (v > 0) {
      const seen = Atomics.compareExchange(i32, VALUE, v, v - 1);
      if (seen === v) return true;
      v = seen;
    }
    return false;
  }

  /**
   * Takes one unit, waiting while the counter is 0.
   *
   * @param deadline `-Infinity` tries once.
   */
  *acquire(deadline: number): Steps<boolean> {
    if (this.tryFast()) return true;
    if (deadline === -Infinity) return false;
    const i32 = this.i32;
    Atomics.add(i32, WAITERS, 1);
    try {
      for (;;) {
        if (this.tryFast()) return true;
        // A wake may be spurious or another process may win the unit: the
        // loop tries again until the deadline.
        const inTime = yield { slot: VALUE, expected: 0, deadline, array: i32 };
        if (!inTime) return this.tryFast();
      }
    } finally {
      Atomics.sub(i32, WAITERS, 1);
    }
  }

  /**
   * Gives `n` units back and wakes up to `n` waiters.
   *
   * @throws {ValueError} When the counter would go above its bound.
   */
  release(n = 1): void {
    const i32 = this.i32;
    if (this.bound === null) {
      Atomics.add(i32, VALUE, n);
    } else {
      let v = Atomics.load(i32, VALUE);
      for (;;) {
        if (v + n > this.bound) {
          throw new ValueError(
            `Cannot release the semaphore: it would go above its bound ${this.bound} (released too many times)`,
          );
        }
        const seen = Atomics.compareExchange(i32, VALUE, v, v + n);
        if (seen === v) break;
        v = seen;
      }
    }
    if (Atomics.load(i32, WAITERS) > 0) Atomics.notify(i32, VALUE, n);
  }

  /** Whether an acquire would wait now (no unit free). */
  locked(): boolean {
    return Atomics.load(this.i32, VALUE) === 0;
  }

  /** The counter now. */
  value(): number {
    return Atomics.load(this.i32, VALUE);
  }
}
