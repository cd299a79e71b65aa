/**
 * `SimpleQueue`: a plain unbounded FIFO queue shared by processes, as
 * Python's `multiprocessing.SimpleQueue`. It is made of the same parts as
 * `Queue` (`_queue/core.ts`); also exported by `queue.ts`.
 *
 * @module
 */

import { kRevive, kShare } from "./_common/transfer.ts";
import { kCore, QueueCore, type QueueState, withCore } from "./_queue/core.ts";
import type { QueueOptions } from "./_queue/options.ts";
// For the links in the docs.
// deno-lint-ignore no-unused-vars
import type { ValueError } from "./errors.ts";

/** A get or put that waits without limit. */
const NO_LIMIT = Object.freeze({});

/**
 * A plain unbounded FIFO queue shared by processes, as Python's
 * `multiprocessing.SimpleQueue`: `put`, `get`, `empty`, `close` (and the
 * blocking twins `putSync`, `getSync`).
 *
 * @typeParam T The items' type.
 *
 * @example Usage
 * ```ts
 * import { SimpleQueue } from "@seed/multiprocessing";
 *
 * const q = new SimpleQueue<{ id: number }>();
 * await q.put({ id: 1 });
 * console.log(q.empty(), await q.get()); // false { id: 1 }
 * ```
 */
export class SimpleQueue<T = unknown> {
  /**
   * This handle's workings (`_queue/core.ts`).
   *
   * @ignore
   */
  declare readonly [kCore]: QueueCore;

  /**
   * Makes a simple queue.
   *
   * @param options The ring size.
   * @throws {RangeError} When `bufferSize` is not a positive integer.
   */
  constructor(options: QueueOptions = {}) {
    const core = QueueCore.create(0, options.bufferSize, false);
    withCore(this, core).remember("SimpleQueue", this);
  }

  /**
   * Builds the handle of a queue that another process described with
   * {@linkcode SimpleQueue[kShare]} (see `_launch/shareables.ts`).
   *
   * @param data The descriptor's data.
   * @param id The queue's share id.
   * @returns A handle of the same queue.
   */
  static [kRevive](data: unknown, id: string): SimpleQueue {
    const q = Object.create(SimpleQueue.prototype) as SimpleQueue;
    withCore(q, new QueueCore(data as QueueState, id, false));
    return q;
  }

  /**
   * Describes the queue for another process (see `_common/transfer.ts`).
   *
   * @returns The descriptor.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    const core = this[kCore];
    return { tag: "SimpleQueue", id: core.id, data: core.state };
  }

  /**
   * Puts `item` at the end of the queue; never waits (an item that does
   * not fit the ring now waits in this process's feeder, as in
   * {@linkcode Queue.put}).
   *
   * @param item Any structured-cloneable value.
   * @returns A promise that resolves once the item is in the queue.
   * @throws {ValueError} When this handle was closed.
   * @throws {DOMException} `DataCloneError` when `item` cannot be cloned.
   *
   * @example Usage
   * ```ts
   * import { SimpleQueue } from "@seed/multiprocessing";
   *
   * const q = new SimpleQueue<number>();
   * await q.put(1);
   * ```
   */
  put(item: T): Promise<void> {
    return this[kCore].put(item, NO_LIMIT);
  }

  /**
   * Puts `item`; never blocks (an item that does not fit the ring now
   * waits in this process's feeder, as in {@linkcode Queue.putSync}).
   *
   * @param item Any structured-cloneable value.
   * @throws {ValueError} When this handle was closed.
   * @throws {DOMException} `DataCloneError` when `item` cannot be cloned.
   *
   * @example Usage
   * ```ts
   * import { SimpleQueue } from "@seed/multiprocessing";
   *
   * const q = new SimpleQueue<number>();
   * q.putSync(1);
   * console.log(q.getSync()); // 1
   * ```
   */
  putSync(item: T): void {
    this[kCore].putSync(item, NO_LIMIT);
  }

  /**
   * Removes and returns the first item, waiting for one. Cancellation:
   * `close()` on this handle rejects it with {@linkcode ValueError}.
   *
   * @returns A promise of the item.
   * @throws {ValueError} When this handle is or gets closed.
   *
   * @example Usage
   * ```ts
   * import { SimpleQueue } from "@seed/multiprocessing";
   *
   * const q = new SimpleQueue<string>();
   * await q.put("x");
   * console.log(await q.get()); // "x"
   * ```
   */
  get(): Promise<T> {
    return this[kCore].get(NO_LIMIT) as Promise<T>;
  }

  /**
   * Removes and returns the first item, blocking the thread until there is
   * one (for workers; on the main thread it blocks the event loop).
   *
   * @returns The item.
   * @throws {ValueError} When this handle was closed.
   *
   * @example Usage
   * ```ts
   * import { SimpleQueue } from "@seed/multiprocessing";
   *
   * const q = new SimpleQueue<string>();
   * q.putSync("x");
   * console.log(q.getSync()); // "x"
   * ```
   */
  getSync(): T {
    return this[kCore].getSync(NO_LIMIT) as T;
  }

  /**
   * Whether no item is ready to get (a snapshot).
   *
   * @returns `true` when a get would wait right now.
   *
   * @example Usage
   * ```ts
   * import { SimpleQueue } from "@seed/multiprocessing";
   *
   * console.log(new SimpleQueue().empty()); // true
   * ```
   */
  empty(): boolean {
    return this[kCore].empty();
  }

  /**
   * Says this process uses this handle no more; its waiting gets reject
   * with {@linkcode ValueError}. Other processes are not affected.
   *
   * @example Usage
   * ```ts
   * import { SimpleQueue } from "@seed/multiprocessing";
   *
   * const q = new SimpleQueue();
   * q.close();
   * ```
   */
  close(): void {
    this[kCore].close();
  }

  /** Closes this handle; same as {@linkcode SimpleQueue.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
