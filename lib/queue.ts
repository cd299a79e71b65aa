/**
 * `Queue`, `JoinableQueue` and `SimpleQueue`: FIFO queues that any number
 * of processes put into and get from, as Python's `multiprocessing` ones.
 *
 * ```text
 *  put(item) ─ place under maxsize ─ encode ─┬─ room now ──► ring (shared)
 *     (returns here: the item is accepted)   └─ feeder ────► ring, in order
 *  get() ◄─ decode ◄─ copy out of the ring ◄──────────────────────┘
 * ```
 *
 * Items live in a shared-memory byte ring (`_shm/ring.ts`), encoded by
 * `_shm/codec.ts`; a `maxsize` counter in shared memory bounds the items.
 * As in Python, only `maxsize` makes a put wait: an item that does not fit
 * the ring now waits in this handle's feeder (Python's feeder thread),
 * which writes it as readers make room, in this handle's put order. The
 * feeder runs on the event loop, and every sync call of the handle
 * (`putSync`, `getSync` …) also writes what fits, so a worker looping on
 * `putSync` keeps its readers fed. A process's end waits for its feeders
 * (`_launch/runner.ts` calls {@linkcode flushFeeders}) unless
 * `cancelJoinThread()` was called on the handle.
 *
 * @module
 */

import { Empty, Full, TimeoutError, ValueError } from "./errors.ts";
import {
  CLOSED,
  driveAsync,
  driveSync,
  EMPTY,
  Ring,
  type RingInit,
  type Steps,
  TIMED_OUT,
  type Wait,
} from "./_shm/ring.ts";
import { decodeItem, encodeItem } from "./_shm/codec.ts";
import {
  kShare,
  newShareId,
  registerShareable,
  rememberShared,
} from "./_common/transfer.ts";
import { deadlineFrom, waitAsync, waitSync } from "./_shm/wait.ts";
import { waitOptions } from "./_common/check.ts";

/** Items counted against `maxsize` (put in, not yet got). */
const SIZE = 0;
/** Producers asleep waiting for `SIZE` to drop. */
const SIZE_WAITERS = 1;
/** `JoinableQueue`: items put and not yet marked done. */
const UNFINISHED = 16;
/** `JoinableQueue`: callers asleep in `join()`. */
const JOIN_WAITERS = 17;
const QUEUE_SLOTS = 32;

/** See `_shm/ring.ts`: the longest sleep between looks. */
const SLICE_MS = 50;

/** The default ring size of a queue, in bytes. */
const DEFAULT_BUFFER_SIZE = 1 << 20;

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

interface QueueState {
  ring: RingInit;
  control: SharedArrayBuffer;
  maxsize: number;
}

/** An item whose bytes did not decode: kept, so that it is not lost. */
class Undecoded {
  constructor(readonly payload: Uint8Array, readonly error: unknown) {}
}

/** Decodes an item read from the ring, keeping its bytes if that fails. */
function decodeOrKeep(payload: Uint8Array): unknown {
  try {
    return decodeItem(payload);
  } catch (error) {
    return new Undecoded(payload.slice(), error);
  }
}

/** The handles of this thread whose feeders hold items, and their runs. */
const feeding = new Map<Queue<unknown>, Promise<void>>();

/** Set while a reviver builds a queue around existing buffers. */
let reviving: QueueState | null = null;
/** Reads a queue's shared slots (for `JoinableQueue`). */
let controlOf: (q: Queue<unknown>) => Int32Array;
/** Writes what fits of a queue's feeder now (for `JoinableQueue`). */
let pumpOf: (q: Queue<unknown>) => void;
/** Whether a queue's process end waits for its feeder. */
let joinsAtExit: (q: Queue<unknown>) => boolean;
/** Builds a queue around the buffers of one made in another process. */
let reviveQueue: (
  state: unknown,
  id: string,
  make: () => Queue<unknown>,
) => Queue<unknown>;
/** The same, for `SimpleQueue`. */
let reviveSimpleQueue: (state: unknown, id: string) => SimpleQueue<unknown>;

function checkMaxsize(maxsize: number): number {
  if (typeof maxsize !== "number" || !Number.isInteger(maxsize)) {
    throw new TypeError(
      `Cannot make the queue: 'maxsize' must be an integer, got '${maxsize}'`,
    );
  }
  return maxsize > 0 ? Math.min(maxsize, 0x7fff_ffff) : 0;
}

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
  static {
    controlOf = (q) => q.#ctl;
    pumpOf = (q) => {
      q.#pump();
    };
    joinsAtExit = (q) => !q.#cancelled;
    reviveQueue = (state, id, make) => {
      reviving = state as QueueState;
      const q = make();
      q.#revivedId = id;
      return q;
    };
  }

  readonly #ring: Ring;
  readonly #ctl: Int32Array;
  readonly #maxsize: number;
  readonly #id: string;
  readonly #tasks: boolean;
  #closed = false;
  /** Aborts this handle's waiting `get`s when it is closed. */
  readonly #closing = new AbortController();
  /** Accepted items not yet (wholly) in the ring, oldest first. */
  readonly #pending: Uint8Array[] = [];
  /** The write of `#pending[0]` under way, paused at `#paused`. */
  #writing: Steps<true | typeof TIMED_OUT | typeof CLOSED> | null = null;
  #paused: Wait | null = null;
  /** The feeder's run on the event loop, while items are pending. */
  #feeder: Promise<void> | null = null;
  /** `cancelJoinThread()` was called: the process end does not wait. */
  #cancelled = false;
  /** Puts of this handle waiting for a place under `maxsize`, in order. */
  #placeWaits = 0;
  #placeTail: Promise<unknown> = Promise.resolve();

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
    const state = reviving;
    reviving = null;
    this.#tasks = this instanceof JoinableQueue;
    if (state !== null) {
      this.#ring = new Ring(state.ring);
      this.#ctl = new Int32Array(state.control);
      this.#maxsize = state.maxsize;
      this.#id = "";
      return;
    }
    this.#maxsize = checkMaxsize(maxsize);
    this.#ring = Ring.create(options.bufferSize ?? DEFAULT_BUFFER_SIZE);
    this.#ctl = new Int32Array(new SharedArrayBuffer(QUEUE_SLOTS * 4));
    this.#id = newShareId();
    rememberShared(this.#tag(), this.#id, this);
  }

  #tag(): string {
    return this.#tasks ? "JoinableQueue" : "Queue";
  }

  /**
   * Describes the queue for another process (see `_common/transfer.ts`).
   *
   * @returns The descriptor: the shared buffers and `maxsize`.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    const data: QueueState = {
      ring: this.#ring.init,
      control: this.#ctl.buffer as SharedArrayBuffer,
      maxsize: this.#maxsize,
    };
    return { tag: this.#tag(), id: this.#shareId(), data };
  }

  #revivedId: string | undefined;
  #shareId(): string {
    return this.#id || this.#revivedId!;
  }

  /** The most items the queue holds (`0`: unbounded). */
  get maxsize(): number {
    return this.#maxsize;
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
  // async (not just returning promises) so bad input rejects, not throws.
  async put(item: T, options: PutOptions = {}): Promise<void> {
    this.#checkOpen("put");
    const { block, deadline } = waitOptions(options, "put");
    const payload = encodeItem(item);
    if (this.#placeWaits === 0 && this.#count()) {
      this.#accept(payload, false);
      return;
    }
    if (!block || deadline <= performance.now()) throw this.#full();
    // Wait for a place behind this handle's earlier waiting puts, so its
    // items enter the feeder in put order.
    const own = payload.slice();
    const prev = this.#placeTail;
    const mine = (async () => {
      await prev;
      if (
        !this.#count() &&
        !await driveAsync(this.#reserve(deadline), this.#ctl)
      ) {
        throw this.#full();
      }
      this.#accept(own, true);
    })();
    this.#placeTail = mine.catch(() => {});
    this.#placeWaits++;
    try {
      await mine;
    } finally {
      this.#placeWaits--;
    }
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
    this.#checkOpen("put");
    const payload = encodeItem(item);
    // Earlier puts of this handle wait for a place: this one must follow.
    if (this.#placeWaits !== 0 || !this.#count()) throw this.#full();
    this.#accept(payload, false);
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
    this.#checkOpen("put");
    if (this.#placeWaits !== 0) {
      throw new Error(
        "Cannot put synchronously: earlier put() calls of this queue in this thread still wait for a place; await them first",
      );
    }
    const { block, deadline } = waitOptions(options, "put");
    const payload = encodeItem(item);
    if (!this.#count()) {
      if (!block) throw this.#full();
      const own = payload.slice();
      // While waiting, this handle's feeder keeps writing, so the
      // readers that are to make room get its items.
      if (
        !driveSync(
          this.#reserve(deadline),
          this.#ctl,
          "put",
          true,
          this.#pumpHook,
        )
      ) {
        throw this.#full();
      }
      this.#accept(own, true);
      return;
    }
    this.#accept(payload, false);
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
  async get(options: GetOptions = {}): Promise<T> {
    this.#checkOpen("get");
    const { block, deadline } = waitOptions(options, "get");
    this.#pump();
    const fast = this.#ring.tryRead(decodeOrKeep);
    if (fast !== EMPTY) return this.#got(fast);
    if (!block) throw new Empty();
    let r: unknown;
    try {
      r = await driveAsync(
        this.#ring.read(deadline, decodeOrKeep),
        this.#ring.ctl,
        this.#closing.signal,
      );
    } catch (e) {
      if (this.#closing.signal.aborted) throw this.#closedError("get");
      throw e;
    }
    if (r === TIMED_OUT || r === CLOSED) throw new Empty();
    return this.#got(r);
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
    this.#checkOpen("get");
    this.#pump();
    const r = this.#ring.tryRead(decodeOrKeep);
    if (r === EMPTY) throw new Empty();
    return this.#got(r);
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
    this.#checkOpen("get");
    const { block, deadline } = waitOptions(options, "get");
    this.#pump();
    const fast = this.#ring.tryRead(decodeOrKeep);
    if (fast !== EMPTY) return this.#got(fast);
    if (!block) throw new Empty();
    // This handle's own feeder items reach the ring while we wait.
    const r = driveSync(
      this.#ring.read(deadline, decodeOrKeep),
      this.#ring.ctl,
      "get",
      true,
      this.#pumpHook,
    );
    if (r === TIMED_OUT || r === CLOSED) throw new Empty();
    return this.#got(r);
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
    return Math.max(0, Atomics.load(this.#ctl, SIZE));
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
    return this.#ring.items() <= 0;
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
    return this.#maxsize > 0 && Atomics.load(this.#ctl, SIZE) >= this.#maxsize;
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
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort(this.#closedError("get"));
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
  async joinThread(): Promise<void> {
    if (!this.#closed) {
      throw new ValueError(
        "Cannot join the feeder: the queue is not closed; call close() first",
      );
    }
    while (this.#feeder !== null) await this.#feeder;
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
    this.#cancelled = true;
  }

  /** Closes this handle; same as {@linkcode Queue.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  // --- internals -----------------------------------------------------

  #checkOpen(action: string): void {
    if (this.#closed) throw this.#closedError(action);
  }

  #closedError(action: string): ValueError {
    return new ValueError(
      `Cannot ${action}: the queue is closed in this process`,
    );
  }

  #full(): Full {
    return new Full(
      `Cannot put: the queue is full (maxsize ${this.#maxsize})`,
    );
  }

  /**
   * Takes a place under `maxsize` if there is one now (always on an
   * unbounded queue), and counts the task for `JoinableQueue`.
   */
  #count(): boolean {
    const ctl = this.#ctl;
    if (this.#maxsize === 0) {
      Atomics.add(ctl, SIZE, 1);
    } else {
      for (;;) {
        const n = Atomics.load(ctl, SIZE);
        if (n >= this.#maxsize) return false;
        if (Atomics.compareExchange(ctl, SIZE, n, n + 1) === n) break;
      }
    }
    // Count the task before the item is readable, so a consumer's
    // taskDone() never runs ahead of it.
    if (this.#tasks) Atomics.add(ctl, UNFINISHED, 1);
    return true;
  }

  /** Frees a place under `maxsize` and wakes a waiting producer. */
  #release(): void {
    const ctl = this.#ctl;
    Atomics.sub(ctl, SIZE, 1);
    // Seq-cst sub then load pairs with #reserve's add-then-look.
    if (this.#maxsize > 0 && Atomics.load(ctl, SIZE_WAITERS) > 0) {
      Atomics.notify(ctl, SIZE, 1);
    }
  }

  #got(item: unknown): T {
    if (item instanceof Undecoded) {
      // Not lost: back into the queue (at its end) with its place still
      // counted, and the caller learns why.
      this.#accept(item.payload, true);
      throw item.error;
    }
    this.#release();
    return item as T;
  }

  /** Waits for a place under `maxsize`; `false` when `deadline` passed. */
  *#reserve(deadline: number): Steps<boolean> {
    const ctl = this.#ctl;
    Atomics.add(ctl, SIZE_WAITERS, 1);
    let got = false;
    try {
      for (;;) {
        if (this.#count()) return got = true;
        const n = Atomics.load(ctl, SIZE);
        const now = performance.now();
        if (now >= deadline) return false;
        if (n < this.#maxsize) continue;
        yield {
          slot: SIZE,
          expected: n,
          deadline: Math.min(deadline, now + SLICE_MS),
          lock: false,
        };
      }
    } finally {
      Atomics.sub(ctl, SIZE_WAITERS, 1);
      // A wake meant for us is lost if we leave without a place: pass it.
      if (
        !got && Atomics.load(ctl, SIZE) < this.#maxsize &&
        Atomics.load(ctl, SIZE_WAITERS) > 0
      ) {
        Atomics.notify(ctl, SIZE, 1);
      }
    }
  }

  /**
   * Takes an item whose place is counted: into the ring if it fits now
   * and nothing of this handle is ahead of it, else into the feeder.
   *
   * @param owned Whether `payload` is the caller's own copy (not the
   * codec's reused buffer).
   */
  #accept(payload: Uint8Array, owned: boolean): void {
    if (this.#pending.length === 0 && this.#ring.tryWrite(payload)) return;
    this.#pending.push(owned ? payload : payload.slice());
    if (this.#pump() || this.#feeder !== null) return;
    const run = this.#feed();
    this.#feeder = run;
    feeding.set(this as Queue<unknown>, run);
  }

  /** Writes what fits of the feeder now; `true` when it is empty. */
  #pump(): boolean {
    const pending = this.#pending;
    for (;;) {
      if (this.#writing === null) {
        if (pending.length === 0) return true;
        this.#writing = this.#ring.write(pending[0], Infinity);
      }
      // Each step re-checks the ring (a wait's wake may be spurious).
      const r = this.#writing.next();
      if (!r.done) {
        this.#paused = r.value;
        return false;
      }
      // A queue's ring is never closed and the write has no deadline, so
      // it is written.
      this.#writing = null;
      this.#paused = null;
      pending.shift();
    }
  }

  /** `driveSync`'s hook: feeds the ring before the thread sleeps. */
  readonly #pumpHook = (): void => {
    if (this.#pending.length !== 0) this.#pump();
  };

  /** The feeder's run: sleeps on what the write waits for, then pumps. */
  async #feed(): Promise<void> {
    try {
      do {
        const w = this.#paused!;
        if (this.#cancelled) {
          // Not waitAsync: this wait must not keep the event loop alive.
          const res = Atomics.waitAsync(
            this.#ring.ctl,
            w.slot,
            w.expected,
            Math.max(0, w.deadline - performance.now()),
          );
          if (res.async) await res.value;
        } else {
          await waitAsync(this.#ring.ctl, w.slot, w.expected, w.deadline);
        }
      } while (!this.#pump());
    } finally {
      this.#feeder = null;
      feeding.delete(this as Queue<unknown>);
    }
  }
}

/**
 * Waits until the feeders of this thread's queues have written their
 * items, except those of handles that called `cancelJoinThread()`: the
 * end of a process, as Python's joins its queues' feeder threads.
 *
 * @returns A promise that resolves when they are empty.
 */
export async function flushFeeders(): Promise<void> {
  for (;;) {
    const runs = [...feeding].filter(([q]) => joinsAtExit(q));
    if (runs.length === 0) return;
    await Promise.all(runs.map(([, run]) => run));
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
    const ctl = controlOf(this);
    for (;;) {
      const n = Atomics.load(ctl, UNFINISHED);
      if (n <= 0) {
        throw new ValueError(
          "Cannot call taskDone(): it was called more times than items were put",
        );
      }
      if (Atomics.compareExchange(ctl, UNFINISHED, n, n - 1) === n) {
        // Store (CAS) then load pairs with join's add-then-look.
        if (n === 1 && Atomics.load(ctl, JOIN_WAITERS) > 0) {
          Atomics.notify(ctl, UNFINISHED);
        }
        return;
      }
    }
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
  async join(options: JoinOptions = {}): Promise<void> {
    const deadline = deadlineFrom(options.timeout, "join");
    const ctl = controlOf(this);
    while (!this.#joinStep(ctl, deadline)) {
      await waitAsync(
        ctl,
        UNFINISHED,
        Atomics.load(ctl, UNFINISHED),
        Math.min(deadline, performance.now() + SLICE_MS),
      ).finally(() => Atomics.sub(ctl, JOIN_WAITERS, 1));
    }
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
    const deadline = deadlineFrom(options.timeout, "join");
    const ctl = controlOf(this);
    while (!this.#joinStep(ctl, deadline)) {
      // This handle's own feeder items must reach the consumers.
      pumpOf(this);
      try {
        waitSync(
          ctl,
          UNFINISHED,
          Atomics.load(ctl, UNFINISHED),
          Math.min(deadline, performance.now() + SLICE_MS),
        );
      } finally {
        Atomics.sub(ctl, JOIN_WAITERS, 1);
      }
    }
  }

  /**
   * One look for `join`: `true` when done; throws at the deadline; else
   * raises the waiter count (the caller lowers it after sleeping).
   */
  #joinStep(ctl: Int32Array, deadline: number): boolean {
    if (Atomics.load(ctl, UNFINISHED) <= 0) return true;
    if (performance.now() >= deadline) {
      throw new TimeoutError(
        `Cannot join the queue: ${
          Atomics.load(ctl, UNFINISHED)
        } tasks are still unfinished at the timeout`,
      );
    }
    // Count, then let the caller sleep on the value it loads next: a
    // taskDone() reaching 0 in between changes it, so the sleep returns.
    Atomics.add(ctl, JOIN_WAITERS, 1);
    return false;
  }
}

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
  readonly #q: Queue<T>;
  readonly #id: string;

  /**
   * Makes a simple queue.
   *
   * @param options The ring size.
   * @throws {RangeError} When `bufferSize` is not a positive integer.
   */
  constructor(options: QueueOptions = {}) {
    const state = reviving;
    this.#q = new Queue<T>(0, options);
    if (state !== null) {
      this.#id = "";
      return;
    }
    this.#id = newShareId();
    rememberShared("SimpleQueue", this.#id, this);
  }

  /**
   * Describes the queue for another process (see `_common/transfer.ts`).
   *
   * @returns The descriptor.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    const d = this.#q[kShare]();
    return {
      tag: "SimpleQueue",
      id: this.#id || this.#revivedId!,
      data: d.data,
    };
  }

  #revivedId: string | undefined;

  static {
    reviveSimpleQueue = (state, id) => {
      reviving = state as QueueState;
      const q = new SimpleQueue();
      q.#revivedId = id;
      return q;
    };
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
    return this.#q.put(item);
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
    this.#q.putSync(item);
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
    return this.#q.get();
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
    return this.#q.getSync();
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
    return this.#q.empty();
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
    this.#q.close();
  }

  /** Closes this handle; same as {@linkcode SimpleQueue.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

registerShareable(
  "Queue",
  (data, id) => reviveQueue(data, id, () => new Queue()),
);
registerShareable(
  "JoinableQueue",
  (data, id) => reviveQueue(data, id, () => new JoinableQueue()),
);
registerShareable("SimpleQueue", (data, id) => reviveSimpleQueue(data, id));
