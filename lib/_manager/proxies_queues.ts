/**
 * The proxies for the manager's queues: Queue and JoinableQueue. Items
 * wait on the server; each method is one call to it (see `proxy.ts`).
 *
 * @module
 */

import { BaseProxy, invoke, type ProxyBlockOptions } from "./proxy.ts";

// --- Queues -------------------------------------------------------------

/**
 * A proxy for a managed `Queue`: FIFO, any number of producers and
 * consumers in any processes, each item delivered once. Blocking waits
 * happen on the server; a consumer whose process dies while waiting
 * takes nothing.
 *
 * @typeParam T The item type.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 * await using m = await mp.Manager();
 * const q = await m.Queue<string>();
 * await q.put("job");
 * console.log(await q.get({ timeout: 1 })); // "job"
 * ```
 */
export class QueueProxy<T = unknown> extends BaseProxy {
  /**
   * Adds `item`, waiting for room in a bounded queue.
   *
   * @param item The item.
   * @param options `block: false` or a `timeout` in seconds.
   * @returns When the item is in the queue.
   * @throws {Full} When the queue is full and `block` is false, or it
   * stayed full for `timeout` seconds.
   * @throws {EOFError} When the manager is gone (as every method here).
   */
  put(item: T, options?: ProxyBlockOptions): Promise<void> {
    return invoke(this, "put", [item, options]);
  }

  /**
   * Removes and returns the oldest item, waiting for one.
   *
   * @param options `block: false` or a `timeout` in seconds.
   * @returns The item.
   * @throws {Empty} When the queue is empty and `block` is false, or it
   * stayed empty for `timeout` seconds.
   */
  get(options?: ProxyBlockOptions): Promise<T> {
    return invoke(this, "get", [options]);
  }

  /**
   * `put(item, { block: false })`.
   *
   * @param item The item.
   * @returns When the item is in the queue.
   * @throws {Full} When the queue is full.
   */
  putNowait(item: T): Promise<void> {
    return invoke(this, "putNowait", [item]);
  }

  /**
   * `get({ block: false })`.
   *
   * @returns The item.
   * @throws {Empty} When the queue is empty.
   */
  getNowait(): Promise<T> {
    return invoke(this, "getNowait", []);
  }

  /**
   * The number of items (exact: the server holds them).
   *
   * @returns The size.
   */
  qsize(): Promise<number> {
    return invoke(this, "qsize", []);
  }

  /**
   * Whether the queue is empty.
   *
   * @returns Whether it is.
   */
  empty(): Promise<boolean> {
    return invoke(this, "empty", []);
  }

  /**
   * Whether a bounded queue is full.
   *
   * @returns Whether it is.
   */
  full(): Promise<boolean> {
    return invoke(this, "full", []);
  }
}

/**
 * A proxy for a managed `JoinableQueue`: a {@linkcode QueueProxy} that
 * counts unfinished items; consumers call `taskDone()` per item and
 * `join()` waits until every item put is done.
 *
 * @typeParam T The item type.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 * await using m = await mp.Manager();
 * const q = await m.JoinableQueue<number>();
 * await q.put(1);
 * await q.get();
 * await q.taskDone();
 * await q.join(); // returns at once: nothing is unfinished
 * ```
 */
export class JoinableQueueProxy<T = unknown> extends QueueProxy<T> {
  /**
   * Marks one item taken with `get` as done.
   *
   * @returns When done.
   * @throws {ValueError} When called more times than items were put.
   */
  taskDone(): Promise<void> {
    return invoke(this, "taskDone", []);
  }

  /**
   * Waits until every item put has been marked done.
   *
   * @returns When nothing is unfinished.
   */
  join(): Promise<void> {
    return invoke(this, "join", []);
  }
}
