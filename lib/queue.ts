/**
 * `Queue` and `JoinableQueue` (and, from `simple_queue.ts`, `SimpleQueue`):
 * FIFO queues that any number of processes put into and get from, as
 * Python's `multiprocessing` ones.
 *
 * ```text
 *  put(item) ─ place under maxsize ─ encode ─┬─ room now ──► ring (shared)
 *     (returns here: the item is accepted)   └─ feeder ────► ring, in order
 *  get() ◄─ decode ◄─ copy out of the ring ◄──────────────────────┘
 * ```
 *
 * Items live in a shared-memory byte ring (`_shm/ring.ts`), encoded by
 * `_shm/codec.ts`; a `maxsize` counter in shared memory bounds the items
 * (`_queue/counts.ts`). As in Python, only `maxsize` makes a put wait: an
 * item that does not fit the ring now waits in this handle's feeder
 * (`_queue/feeder.ts`, Python's feeder thread), which writes it as readers
 * make room, in this handle's put order. The classes here carry the docs
 * and hand each call to their core (`_queue/core.ts`), where each
 * operation is written once for its async and blocking twins.
 *
 * @module
 */

import { kRevive, kShare } from "./_common/transfer.ts";
import {
  checkMaxsize,
  kCore,
  QueueCore,
  type QueueState,
  withCore,
} from "./_queue/core.ts";
import type {
  GetOptions,
  JoinOptions,
  PutOptions,
  QueueOptions,
} from "./_queue/options.ts";
// For the links in the docs.
// deno-lint-ignore no-unused-vars
import type { Empty, Full, TimeoutError, ValueError } from "./errors.ts";

export type {
  GetOptions,
  JoinOptions,
  PutOptions,
  QueueOptions,
} from "./_queue/options.ts";
export { flushFeeders } from "./_queue/feeder.ts";
export { SimpleQueue } from "./simple_queue.ts";

/**
 * A FIFO queue shared by processes, as Python's `multiprocessing.Queue`.
 *
 * Any number of processes (workers of `Process` and `Pool`, or this one)
 * put and get; each item is delivered exactly once, and the items of one
 * producer arrive in the order it put them. Items are any
 * structured-cloneable values and arrive as `structuredClone` would give
 * them (`Map`, `Set`, `Date`, `BigInt`, typed arrays … keep their types).
 * Pass the queue to a process in its `args` (also nested) and it arrives
 * working.
 *
 * The queue lives in shared memory. The async methods wait without
 * blocking the event loop; the `...Sync` twins block the thread and are
 * meant for workers (on the main thread they block the event loop, which
 * Deno allows). A bounded queue (`maxsize > 0`) makes producers wait.
 *
 * Like Python's, only `maxsize` makes a put wait: an item that finds the
 * ring full waits in this process's feeder and is written in order as
 * readers make room, so `await q.put(big); await q.get()` works in one
 * process. The process's end waits for its feeders (`joinThread()` waits
 * for one; `cancelJoinThread()` lets the process end without it). An
 * item a reader was part-way through when it died or was killed is not
 * lost: the next reader gets it, and `qsize()`/`full()`/`empty()` stay
 * true. Nor is an item whose bytes fail to decode (which only corrupted
 * memory could cause): the get throws the decode error and the item goes
 * back to the end of the queue.
 *
 * @typeParam T The items' type.
 *
 * @example Usage
 * ```ts
 * import { Queue } from "@seed/multiprocessing";
 *
 * const q = new Queue<string>(2);
 * await q.put("a");
 * q.putNowait("b");
 * console.log(q.full(), q.qsize()); // true 2
 * console.log(await q.get(), q.getNowait()); // "a" "b"
 * ```
 */
export class Queue<T = unknown> {
  /**
   * This handle's workings (`_queue/core.ts`).
   *
   * @ignore
   */
  declare readonly [kCore]: QueueCore;

  /**
   * Makes a queue.
   *
   * @param maxsize The most items the queue holds; producers wait (or get
   * {@linkcode Full}) beyond it. `0` or less means unbounded.
   * @param options The ring size.
   * @throws {TypeError} When `maxsize` is not an integer.
   * @throws {RangeError} When `bufferSize` is not a positive integer.
   */
  constructor(maxsize = 0, options: QueueOptions = {}) {
    const tasks = this instanceof JoinableQueue;
    const core = QueueCore.create(
      checkMaxsize(maxsize),
      options.bufferSize,
      tasks,
    );
    withCore(this, core).remember(tagOf(this), this);
  }

  /**
   * Builds the handle of a queue that another process described with
   * {@linkcode Queue[kShare]} (see `_launch/shareables.ts`). Not through
   * the constructor, which would make new buffers.
   *
   * @param data The descriptor's data.
   * @param id The queue's share id.
   * @returns A handle of the same queue.
   */
  static [kRevive]<Q extends Queue>(
    this: { prototype: Q },
    data: unknown,
    id: string,
  ): Q {
    const q = Object.create(this.prototype) as Q;
    const tasks = q instanceof JoinableQueue;
    withCore(q, new QueueCore(data as QueueState, id, tasks));
    return q;
  }

  /**
   * Describes the queue for another process (see `_common/transfer.ts`).
   *
   * @returns The descriptor: the shared buffers and `maxsize`.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    const core = this[kCore];
    return { tag: tagOf(this), id: core.id, data: core.state };
  }

  /** The most items the queue holds (`0`: unbounded). */
  get maxsize(): number {
    return this[kCore].maxsize;
  }

  /**
   * Puts `item` at the end of the queue. Only a bounded queue that is full
   * makes it wait (for a place under `maxsize`); otherwise it resolves at
   * once, as Python's: an item that does not fit the ring right now waits
   * in this process's feeder, which writes it, in order, as readers make
   * room (see {@linkcode Queue.joinThread}).
   *
   * Timeout: with `timeout`, rejects with {@linkcode Full} once that many
   * seconds passed without a place; with `block: false`, rejects at once
   * when full. Cancellation: none (use a timeout); `close()` does not
   * affect accepted items (they are still delivered, as in Python).
   *
   * @param item Any structured-cloneable value.
   * @param options Whether and how long to wait for a place.
   * @returns A promise that resolves once the item is accepted.
   * @throws {Full} When there is no place within the timeout.
   * @throws {ValueError} When this handle was closed.
   * @throws {DOMException} `DataCloneError` when `item` cannot be cloned.
   *
   * @example Usage
   * ```ts
   * import { Full, Queue } from "@seed/multiprocessing";
   *
   * const q = new Queue<number>(1);
   * await q.put(1);
   * await q.put(2, { timeout: 0.01 }).catch((e) => console.log(e instanceof Full)); // true
   * ```
   */
  put(item: T, options: PutOptions = {}): Promise<void> {
    // core.put is async, so bad input rejects (not throws).
    return this[kCore].put(item, options);
  }

  /**
   * Puts `item` without waiting, as Python's `put_nowait`.
   *
   * On a bounded queue that is full it throws {@linkcode Full}. Otherwise
   * the item is accepted: when the ring has no room right now, it waits in
   * this process's feeder and is written, in order, as room comes.
   *
   * @param item Any structured-cloneable value.
   * @throws {Full} When the queue holds `maxsize` items (or earlier puts
   * of this handle wait for a place).
   * @throws {ValueError} When this handle was closed.
   * @throws {DOMException} `DataCloneError` when `item` cannot be cloned.
   *
   * @example Usage
   * ```ts
   * import { Queue } from "@seed/multiprocessing";
   *
   * const q = new Queue<number[]>();
   * q.putNowait([1, 2]);
   * console.log(q.getNowait()); // [1, 2]
   * ```
   */
  putNowait(item: T): void {
    this[kCore].putNowait(item);
  }

  /**
   * Puts `item`, blocking the thread only while a bounded queue is full
   * (for workers; on the main thread it blocks the event loop). As with
   * {@linkcode Queue.put}, an item that does not fit the ring now waits
   * in this process's feeder.
   *
   * Timeout: with `timeout`, throws {@linkcode Full} once that many
   * seconds passed without a place; with `block: false`, throws at once.
   * A blocked call cannot be cancelled.
   *
   * @param item Any structured-cloneable value.
   * @param options Whether and how long to wait for a place.
   * @throws {Full} When there is no place within the timeout.
   * @throws {ValueError} When this handle was closed.
   * @throws {Error} When async puts of this handle in this thread are still
   * waiting for a place (this one would overtake them); await them first.
   * @throws {DOMException} `DataCloneError` when `item` cannot be cloned.
   *
   * @example Usage
   * ```ts
   * import { Queue } from "@seed/multiprocessing";
   *
   * const q = new Queue<Map<string, number>>();
   * q.putSync(new Map([["a", 1]]));
   * console.log(q.getSync()); // Map(1) { "a" => 1 }
   * ```
   */
  putSync(item: T, options: PutOptions = {}): void {
    this[kCore].putSync(item, options);
  }

  /**
   * Removes and returns the first item, waiting for one when the queue is
   * empty.
   *
   * Timeout: with `timeout`, rejects with {@linkcode Empty} once that many
   * seconds passed without an item; with `block: false`, rejects at once
   * when empty. Cancellation: `close()` on this handle rejects a waiting
   * get with {@linkcode ValueError}; no item is lost.
   *
   * @param options Whether and how long to wait.
   * @returns A promise of the item.
   * @throws {Empty} When there is no item within the timeout.
   * @throws {ValueError} When this handle is or gets closed.
   *
   * @example Usage
   * ```ts
   * import { Empty, Queue } from "@seed/multiprocessing";
   *
   * const q = new Queue<Date>();
   * await q.put(new Date(0));
   * console.log((await q.get()).getTime()); // 0
   * await q.get({ timeout: 0.01 }).catch((e) => console.log(e instanceof Empty)); // true
   * ```
   */
  get(options: GetOptions = {}): Promise<T> {
    return this[kCore].get(options) as Promise<T>;
  }

  /**
   * Removes and returns the first item without waiting, as Python's
   * `get_nowait`. An item larger than the ring (still arriving in chunks)
   * does not count as there yet.
   *
   * @returns The item.
   * @throws {Empty} When the queue is empty.
   * @throws {ValueError} When this handle was closed.
   *
   * @example Usage
   * ```ts
   * import { Empty, Queue } from "@seed/multiprocessing";
   *
   * const q = new Queue();
   * try {
   *   q.getNowait();
   * } catch (e) {
   *   console.log(e instanceof Empty); // true
   * }
   * ```
   */
  getNowait(): T {
    return this[kCore].getNowait() as T;
  }

  /**
   * Removes and returns the first item, blocking the thread until there is
   * one. For workers; on the main thread it blocks the event loop.
   *
   * Timeout: with `timeout`, throws {@linkcode Empty} once that many
   * seconds passed without an item; with `block: false`, throws at once.
   * A blocked call cannot be cancelled.
   *
   * @param options Whether and how long to wait.
   * @returns The item.
   * @throws {Empty} When there is no item within the timeout.
   * @throws {ValueError} When this handle was closed.
   *
   * @example Usage
   * ```ts
   * import { Queue } from "@seed/multiprocessing";
   *
   * const q = new Queue<bigint>();
   * q.putSync(2n ** 64n);
   * console.log(q.getSync({ timeout: 1 })); // 18446744073709551616n
   * ```
   */
  getSync(options: GetOptions = {}): T {
    return this[kCore].getSync(options) as T;
  }

  /**
   * The number of items in the queue: put (or waiting in a feeder) and
   * not yet got. A snapshot; other processes change it at any time.
   *
   * @returns The approximate size.
   *
   * @example Usage
   * ```ts
   * import { Queue } from "@seed/multiprocessing";
   *
   * const q = new Queue();
   * q.putNowait(1);
   * console.log(q.qsize()); // 1
   * ```
   */
  qsize(): number {
    return this[kCore].qsize();
  }

  /**
   * Whether no item is ready to get. A snapshot; other processes change
   * it at any time.
   *
   * @returns `true` when a get would find nothing right now.
   *
   * @example Usage
   * ```ts
   * import { Queue } from "@seed/multiprocessing";
   *
   * const q = new Queue();
   * console.log(q.empty()); // true
   * ```
   */
  empty(): boolean {
    return this[kCore].empty();
  }

  /**
   * Whether the queue holds `maxsize` items (always `false` when
   * unbounded). A snapshot.
   *
   * @returns `true` when a put would wait right now.
   *
   * @example Usage
   * ```ts
   * import { Queue } from "@seed/multiprocessing";
   *
   * const q = new Queue(1);
   * q.putNowait("x");
   * console.log(q.full()); // true
   * ```
   */
  full(): boolean {
    return this[kCore].full();
  }

  /**
   * Says this process puts and gets no more through this handle (Python's
   * `close`). Other processes' handles are not affected. Waiting gets of
   * this handle reject with {@linkcode ValueError}; items in the feeder
   * are still written (see {@linkcode Queue.joinThread}). Closing twice is
   * harmless.
   *
   * @example Usage
   * ```ts
   * import { Queue } from "@seed/multiprocessing";
   *
   * const q = new Queue();
   * q.close();
   * await q.put(1).catch((e) => console.log(e.name)); // "ValueError"
   * ```
   */
  close(): void {
    this[kCore].close();
  }

  /**
   * Waits until this process's feeder has written every accepted item
   * into the queue (Python's `join_thread`). Only after `close()`. A
   * process's end does the same for every queue it put to, unless
   * {@linkcode Queue.cancelJoinThread} was called.
   *
   * Cancellation: none; it returns once readers have made room for the
   * items (a reader part-way through a large item has it all).
   *
   * @returns A promise that resolves when the feeder is empty.
   * @throws {ValueError} When the queue was not closed first.
   *
   * @example Usage
   * ```ts
   * import { Queue } from "@seed/multiprocessing";
   *
   * const q = new Queue();
   * q.putNowait("last");
   * q.close();
   * await q.joinThread();
   * ```
   */
  joinThread(): Promise<void> {
    return this[kCore].joinThread();
  }

  /**
   * Lets this process end without waiting for this handle's feeder, as
   * Python's `cancel_join_thread`: items still in the feeder when the
   * process ends are lost. Until then the feeder goes on writing, but no
   * longer keeps the event loop alive.
   *
   * @example Usage
   * ```ts
   * import { Queue } from "@seed/multiprocessing";
   *
   * const q = new Queue();
   * q.cancelJoinThread();
   * ```
   */
  cancelJoinThread(): void {
    this[kCore].cancelJoinThread();
  }

  /** Closes this handle; same as {@linkcode Queue.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * A {@linkcode Queue} that also counts unfinished tasks, as Python's
 * `multiprocessing.JoinableQueue`: every put adds one, every
 * {@linkcode JoinableQueue.taskDone} removes one, and
 * {@linkcode JoinableQueue.join} waits until none is left.
 *
 * @typeParam T The items' type.
 *
 * @example Usage
 * ```ts
 * import { JoinableQueue } from "@seed/multiprocessing";
 *
 * const q = new JoinableQueue<string>();
 * await q.put("job");
 * console.log(await q.get()); // "job"
 * q.taskDone();
 * await q.join(); // returns: every task is done
 * ```
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  /**
   * Makes a joinable queue.
   *
   * @param maxsize The most items the queue holds; `0` or less means
   * unbounded.
   * @param options The ring size.
   * @throws {TypeError} When `maxsize` is not an integer.
   * @throws {RangeError} When `bufferSize` is not a positive integer.
   */
  constructor(maxsize = 0, options: QueueOptions = {}) {
    super(maxsize, options);
  }

  /**
   * Marks one item got from the queue as processed.
   *
   * @throws {ValueError} When called more times than items were put.
   *
   * @example Usage
   * ```ts
   * import { JoinableQueue, ValueError } from "@seed/multiprocessing";
   *
   * const q = new JoinableQueue();
   * try {
   *   q.taskDone();
   * } catch (e) {
   *   console.log(e instanceof ValueError); // true
   * }
   * ```
   */
  taskDone(): void {
    this[kCore].taskDone();
  }

  /**
   * Waits until every item put has been marked done with
   * {@linkcode JoinableQueue.taskDone}.
   *
   * Timeout: with `timeout`, rejects with {@linkcode TimeoutError} once that
   * many seconds passed. Cancellation: none (use a timeout).
   *
   * @param options How long to wait.
   * @returns A promise that resolves when no task is unfinished.
   * @throws {TimeoutError} When tasks are still unfinished at the timeout.
   *
   * @example Usage
   * ```ts
   * import { JoinableQueue } from "@seed/multiprocessing";
   *
   * const q = new JoinableQueue();
   * await q.join({ timeout: 1 }); // nothing was put: returns at once
   * ```
   */
  join(options: JoinOptions = {}): Promise<void> {
    return this[kCore].join(options);
  }

  /**
   * Blocks the thread until every item put has been marked done. For
   * workers; on the main thread it blocks the event loop.
   *
   * Timeout: with `timeout`, throws {@linkcode TimeoutError} once that many
   * seconds passed. A blocked call cannot be cancelled.
   *
   * @param options How long to wait.
   * @throws {TimeoutError} When tasks are still unfinished at the timeout.
   *
   * @example Usage
   * ```ts
   * import { JoinableQueue } from "@seed/multiprocessing";
   *
   * const q = new JoinableQueue();
   * q.putSync(1);
   * q.getSync();
   * q.taskDone();
   * q.joinSync();
   * ```
   */
  joinSync(options: JoinOptions = {}): void {
    this[kCore].joinSync(options);
  }
}

/**
 * The share tag of a queue. A function, not a private method: a revived
 * handle is made without the constructor, so it has no private members.
 */
function tagOf(q: Queue<unknown>): string {
  return q instanceof JoinableQueue ? "JoinableQueue" : "Queue";
}
