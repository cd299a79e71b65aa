/**
 * A queue's counts in shared memory, beside its ring: the items counted
 * against `maxsize` (put in, not yet got) and, for `JoinableQueue`, the
 * tasks not yet marked done. Their two waits (a put waiting for a place, a
 * `join` waiting for the last `taskDone`) are wait loops for
 * `_shm/drive.ts`, so their blocking and async twins share them.
 *
 * ```text
 *  control (Int32Array, QUEUE_SLOTS)
 *    SIZE        items counted against maxsize   SIZE_WAITERS  puts asleep
 *    UNFINISHED  tasks not yet done              JOIN_WAITERS  joins asleep
 * ```
 *
 * @module
 */

import { TimeoutError } from "../errors.ts";
import type { Steps } from "../_shm/drive.ts";

// The slots (see the drawing above); each waiters count is how the side
// that changes its slot knows whether to make the notify syscall.
const SIZE = 0;
const SIZE_WAITERS = 1;
const UNFINISHED = 16; // On a line of its own: JoinableQueue only.
const JOIN_WAITERS = 17;
const QUEUE_SLOTS = 32;

/** See `_shm/ring.ts`: the longest sleep between looks. */
const SLICE_MS = 50;

/** The items and tasks of one queue, counted in shared memory. */
export class QueueCounts {
  /** The control slots (shared by every handle of the queue). */
  readonly ctl: Int32Array;
  /** The most items the queue holds (`0`: unbounded). */
  readonly maxsize: number;
  /** Whether puts count tasks (`JoinableQueue`). */
  readonly #tasks: boolean;

  /**
   * Wraps a queue's control slots (made here or in another process).
   *
   * @param control The shared buffer of {@linkcode QueueCounts.create}.
   * @param maxsize The queue's `maxsize` (`0`: unbounded).
   * @param tasks Whether puts count tasks.
   */
  constructor(control: SharedArrayBuffer, maxsize: number, tasks: boolean) {
    this.ctl = new Int32Array(control);
    this.maxsize = maxsize;
    this.#tasks = tasks;
  }

  /**
   * Makes the counts of a new queue.
   *
   * @param maxsize The queue's `maxsize` (`0`: unbounded).
   * @param tasks Whether puts count tasks.
   * @returns The counts, all zero.
   */
  static create(maxsize: number, tasks: boolean): QueueCounts {
    return new QueueCounts(
      new SharedArrayBuffer(QUEUE_SLOTS * 4),
      maxsize,
      tasks,
    );
  }

  /** Items counted against `maxsize` (a snapshot, never below 0). */
  size(): number {
    return Math.max(0, Atomics.load(this.ctl, SIZE));
  }

  /** Whether the queue holds `maxsize` items (a snapshot). */
  full(): boolean {
    return this.maxsize > 0 && Atomics.load(this.ctl, SIZE) >= this.maxsize;
  }

  /**
   * Takes a place under `maxsize` if there is one now (always on an
   * unbounded queue), and counts the task for `JoinableQueue`.
   *
   * @returns Whether a place was taken.
   */
  take(): boolean {
    const ctl = this.ctl;
    if (this.maxsize === 0) {
      Atomics.add(ctl, SIZE, 1);
    } else {
      for (;;) {
        const n = Atomics.load(ctl, SIZE);
        if (n >= this.maxsize) return false;
        if (Atomics.compareExchange(ctl, SIZE, n, n + 1) === n) break;
      }
    }
    // Count the task before the item is readable, so a consumer's
    // taskDone() never runs ahead of it.
    if (this.#tasks) Atomics.add(ctl, UNFINISHED, 1);
    return true;
  }

  /** Frees a place under `maxsize` and wakes a waiting producer. */
  release(): void {
    const ctl = this.ctl;
    Atomics.sub(ctl, SIZE, 1);
    // Seq-cst sub then load pairs with reserve's add-then-look.
    if (this.maxsize > 0 && Atomics.load(ctl, SIZE_WAITERS) > 0) {
      Atomics.notify(ctl, SIZE, 1);
    }
  }

  /**
   * Waits for a place under `maxsize` and takes it.
   *
   * @param deadline When to give up (`performance.now()` ms).
   * @returns Whether a place was taken (`false`: the deadline passed).
   */
  *reserve(deadline: number): Steps<boolean> {
    const ctl = this.ctl;
    Atomics.add(ctl, SIZE_WAITERS, 1);
    let got = false;
    try {
      for (;;) {
        if (this.take()) return got = true;
        const n = Atomics.load(ctl, SIZE);
        const now = performance.now();
        if (now >= deadline) return false;
        if (n < this.maxsize) continue;
        yield {
          slot: SIZE,
          expected: n,
          deadline: Math.min(deadline, now + SLICE_MS),
        };
      }
    } finally {
      Atomics.sub(ctl, SIZE_WAITERS, 1);
      // A wake meant for us is lost if we leave without a place: pass it.
      if (
        !got && Atomics.load(ctl, SIZE) < this.maxsize &&
        Atomics.load(ctl, SIZE_WAITERS) > 0
      ) {
        Atomics.notify(ctl, SIZE, 1);
      }
    }
  }

  /**
   * Marks one task done (`JoinableQueue.taskDone`).
   *
   * @returns `false` when no task was unfinished (nothing changed).
   */
  taskDone(): boolean {
    const ctl = this.ctl;
    for (;;) {
      const n = Atomics.load(ctl, UNFINISHED);
      if (n <= 0) return false;
      if (Atomics.compareExchange(ctl, UNFINISHED, n, n - 1) === n) {
        // Store (CAS) then load pairs with join's add-then-look.
        if (n === 1 && Atomics.load(ctl, JOIN_WAITERS) > 0) {
          Atomics.notify(ctl, UNFINISHED);
        }
        return true;
      }
    }
  }

  /**
   * Waits until no task is unfinished (`JoinableQueue.join`).
   *
   * @param deadline When to give up (`performance.now()` ms).
   * @throws {TimeoutError} When tasks are still unfinished at `deadline`.
   */
  *join(deadline: number): Steps<void> {
    const ctl = this.ctl;
    for (;;) {
      if (Atomics.load(ctl, UNFINISHED) <= 0) return;
      const now = performance.now();
      if (now >= deadline) {
        throw new TimeoutError(
          `Cannot join the queue: ${
            Atomics.load(ctl, UNFINISHED)
          } tasks are still unfinished at the timeout`,
        );
      }
      // Count, then sleep on the value loaded next: a taskDone() reaching
      // 0 in between changes it, so the sleep returns.
      Atomics.add(ctl, JOIN_WAITERS, 1);
      try {
        yield {
          slot: UNFINISHED,
          expected: Atomics.load(ctl, UNFINISHED),
          deadline: Math.min(deadline, now + SLICE_MS),
        };
      } finally {
        Atomics.sub(ctl, JOIN_WAITERS, 1);
      }
    }
  }
}
