/**
 * The options of the queue classes (re-exported by `queue.ts`).
 *
 * @module
 */

/** Options of {@linkcode Queue} and {@linkcode JoinableQueue}. */
export interface QueueOptions {
  /**
   * Size of the shared byte ring that holds the items in transit, in bytes
   * (rounded up to a power of two). Items that find it full wait in the
   * putting process's feeder (puts do not wait for them). Items larger
   * than a quarter of it are sent in chunks, so any size of item fits.
   *
   * @default {1048576}
   */
  bufferSize?: number;
}

/** Options of {@linkcode Queue.put} and its twins. */
export interface PutOptions {
  /**
   * Whether to wait for room when the queue is full. When `false`, a full
   * queue throws {@linkcode Full} at once.
   *
   * @default {true}
   */
  block?: boolean;
  /**
   * Seconds to wait for room before throwing {@linkcode Full}; no limit
   * when absent. Ignored when `block` is `false`.
   *
   * @default {undefined}
   */
  timeout?: number;
}

/** Options of {@linkcode Queue.get} and its twins. */
export interface GetOptions {
  /**
   * Whether to wait for an item when the queue is empty. When `false`, an
   * empty queue throws {@linkcode Empty} at once.
   *
   * @default {true}
   */
  block?: boolean;
  /**
   * Seconds to wait for an item before throwing {@linkcode Empty}; no
   * limit when absent. Ignored when `block` is `false`.
   *
   * @default {undefined}
   */
  timeout?: number;
}

/** Options of {@linkcode JoinableQueue.join}. */
export interface JoinOptions {
  /**
   * Seconds to wait before throwing {@linkcode TimeoutError}; no limit
   * when absent.
   *
   * @default {undefined}
   */
  timeout?: number;
}
