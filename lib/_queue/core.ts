/**
 * The workings of one queue handle, behind the public `Queue`,
 * `JoinableQueue` and `SimpleQueue` (which carry the docs and hand every
 * call here): the shared ring and counts, and what is this handle's own
 * (its feeder, whether it is closed, its puts waiting for a place).
 *
 * Each wait is written once: a get that finds no item waits in one loop
 * that `get` drives with `driveAsync` and `getSync` with `driveSync`
 * (`_shm/drive.ts`); a put waits for a place in one loop
 * ({@linkcode QueueCore.placeSteps}) the same way.
 *
 * @module
 */

import { Empty, Full, ValueError } from "../errors.ts";
import { CLOSED, EMPTY, Ring, type RingInit, TIMED_OUT } from "../_shm/ring.ts";
import { driveAsync, driveSync, type Steps } from "../_shm/drive.ts";
import { decodeItem, encodeItem } from "../_shm/codec.ts";
import { deadlineFrom } from "../_common/timer.ts";
import { type WaitLimit, waitOptions } from "../_common/check.ts";
import { newShareId, rememberShared } from "../_common/transfer.ts";
import { QueueCounts } from "./counts.ts";
import { Feeder, pumpFeeders } from "./feeder.ts";
import type { GetOptions, JoinOptions, PutOptions } from "./options.ts";

/** The default ring size of a queue, in bytes. */
const DEFAULT_BUFFER_SIZE = 1 << 20;

/**
 * The key of a public queue's core (`Queue`, `JoinableQueue`,
 * `SimpleQueue`). Internal: not exported by `mod.ts`.
 */
export const kCore: unique symbol = Symbol("queue core");

/**
 * Gives a public queue object its core: a property that is not
 * enumerable, so inspecting a queue shows none of its workings.
 *
 * @param handle The `Queue`, `JoinableQueue` or `SimpleQueue`.
 * @param core Its core.
 * @returns The core.
 */
export function withCore(handle: object, core: QueueCore): QueueCore {
  Object.defineProperty(handle, kCore, { value: core });
  return core;
}

/** What crosses to another process: the shared buffers and `maxsize`. */
export interface QueueState {
  /** The ring's buffers. */
  ring: RingInit;
  /** The counts' buffer. */
  control: SharedArrayBuffer;
  /** The queue's `maxsize` (`0`: unbounded). */
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

/**
 * Checks a queue's `maxsize`.
 *
 * @returns The bound (`0`: unbounded).
 * @throws {TypeError} When `maxsize` is not an integer.
 */
export function checkMaxsize(maxsize: number): number {
  if (typeof maxsize !== "number" || !Number.isInteger(maxsize)) {
    throw new TypeError(
      `Cannot make the queue: 'maxsize' must be an integer, got '${maxsize}'`,
    );
  }
  return maxsize > 0 ? Math.min(maxsize, 0x7fff_ffff) : 0;
}

/** One handle of a queue: its ring, counts and feeder. */
export class QueueCore {
  readonly #ring: Ring;
  readonly #counts: QueueCounts;
  readonly #feeder: Feeder;
  /** The queue's share id (the same in every process). */
  readonly id: string;
  #closed = false;
  /** Aborts this handle's waiting `get`s when it is closed. */
  readonly #closing = new AbortController();
  /** Puts of this handle waiting for a place under `maxsize`, in order. */
  #placeWaits = 0;
  #placeTail: Promise<unknown> = Promise.resolve();

  /**
   * Wraps a queue's shared buffers (made here or in another process).
   *
   * @param state The buffers and `maxsize`.
   * @param id The queue's share id.
   * @param tasks Whether puts count tasks (`JoinableQueue`).
   */
  constructor(state: QueueState, id: string, tasks: boolean) {
    this.#ring = new Ring(state.ring);
    this.#counts = new QueueCounts(state.control, state.maxsize, tasks);
    this.#feeder = new Feeder(this.#ring);
    this.id = id;
  }

  /**
   * Makes a new queue, remembered under `tag` so that it comes back into
   * this process as itself.
   *
   * @param maxsize The checked `maxsize` (`0`: unbounded).
   * @param bufferSize The ring size asked for.
   * @param tasks Whether puts count tasks.
   * @returns The new queue's core (its handle in this process).
   * @throws {RangeError} When `bufferSize` is not a positive integer.
   */
  static create(
    maxsize: number,
    bufferSize: number | undefined,
    tasks: boolean,
  ): QueueCore {
    const ring = Ring.create(bufferSize ?? DEFAULT_BUFFER_SIZE);
    const counts = QueueCounts.create(maxsize, tasks);
    const state = { ring: ring.init, control: counts.ctl.buffer, maxsize };
    return new QueueCore(state as QueueState, newShareId(), tasks);
  }

  /**
   * Remembers `handle` as this queue's object in this process.
   *
   * @param tag The handle's share tag.
   * @param handle The public object.
   */
  remember(tag: string, handle: object): void {
    rememberShared(tag, this.id, handle);
  }

  /** The shared buffers and `maxsize`, for another process. */
  get state(): QueueState {
    return {
      ring: this.#ring.init,
      control: this.#counts.ctl.buffer as SharedArrayBuffer,
      maxsize: this.#counts.maxsize,
    };
  }

  /** The most items the queue holds (`0`: unbounded). */
  get maxsize(): number {
    return this.#counts.maxsize;
  }

  // --- put -----------------------------------------------------------

  /** `Queue.put`. */
  async put(item: unknown, options: PutOptions): Promise<void> {
    this.#checkOpen("put");
    const { block, deadline } = waitOptions(options, "put");
    const payload = encodeItem(item);
    if (this.#placeWaits === 0 && this.#counts.take()) {
      this.#feeder.accept(payload, false);
      return;
    }
    if (!block || deadline <= performance.now()) throw this.#full();
    // Wait for a place behind this handle's earlier waiting puts, so its
    // items enter the feeder in put order.
    const own = payload.slice();
    const prev = this.#placeTail;
    const mine = (async () => {
      await prev;
      await driveAsync(this.placeSteps(own, deadline), this.#counts.ctl);
    })();
    this.#placeTail = mine.catch(() => {});
    this.#placeWaits++;
    try {
      await mine;
    } finally {
      this.#placeWaits--;
    }
  }

  /** `Queue.putNowait`. */
  putNowait(item: unknown): void {
    this.#checkOpen("put");
    const payload = encodeItem(item);
    // Earlier puts of this handle wait for a place: this one must follow.
    if (this.#placeWaits !== 0 || !this.#counts.take()) throw this.#full();
    this.#feeder.accept(payload, false);
  }

  /** `Queue.putSync`. */
  putSync(item: unknown, options: PutOptions): void {
    this.#checkOpen("put");
    if (this.#placeWaits !== 0) {
      throw new Error(
        "Cannot put synchronously: earlier put() calls of this queue in this thread still wait for a place; await them first",
      );
    }
    const { block, deadline } = waitOptions(options, "put");
    const payload = encodeItem(item);
    if (this.#counts.take()) {
      this.#feeder.accept(payload, false);
      return;
    }
    if (!block) throw this.#full();
    // While waiting, this thread's feeders keep writing, so the readers
    // that are to make room get their items.
    driveSync(
      this.placeSteps(payload.slice(), deadline),
      this.#counts.ctl,
      "put",
      true,
      pumpFeeders,
    );
  }

  /**
   * The wait loop of a put that found no place: takes one when it comes,
   * then hands the item to the feeder.
   *
   * @param own The encoded item, the caller's own copy.
   * @param deadline When to give up (`performance.now()` ms).
   * @throws {Full} When no place came by `deadline`.
   */
  *placeSteps(own: Uint8Array, deadline: number): Steps<void> {
    if (!this.#counts.take() && !(yield* this.#counts.reserve(deadline))) {
      throw this.#full();
    }
    this.#feeder.accept(own, true);
  }

  // --- get -----------------------------------------------------------

  /** `Queue.get`. */
  async get(options: GetOptions): Promise<unknown> {
    const limit = this.#startGet(options);
    const fast = this.#ring.tryRead(decodeOrKeep);
    if (fast !== EMPTY) return this.#got(fast);
    // A wait that close() ends rejects with the abort's reason, the closed
    // handle's error.
    const ctl = this.#ring.ctl;
    return await driveAsync(this.#waitGet(limit), ctl, this.#closing.signal);
  }

  /** `Queue.getSync`. */
  getSync(options: GetOptions): unknown {
    const limit = this.#startGet(options);
    const fast = this.#ring.tryRead(decodeOrKeep);
    if (fast !== EMPTY) return this.#got(fast);
    // This thread's feeders write their items while we wait.
    const steps = this.#waitGet(limit);
    return driveSync(steps, this.#ring.ctl, "get", true, pumpFeeders);
  }

  /** `Queue.getNowait`. */
  getNowait(): unknown {
    this.#checkOpen("get");
    this.#feeder.pump();
    const r = this.#ring.tryRead(decodeOrKeep);
    if (r === EMPTY) throw new Empty();
    return this.#got(r);
  }

  /**
   * Checks a get and feeds this handle's items to the ring first, so
   * that it can get them.
   *
   * @returns Whether and until when to wait.
   * @throws {ValueError} When this handle was closed.
   */
  #startGet(options: GetOptions): WaitLimit {
    this.#checkOpen("get");
    const limit = waitOptions(options, "get");
    this.#feeder.pump();
    return limit;
  }

  /**
   * The wait of a get that found no item, written once for both twins.
   *
   * @param limit Whether and until when to wait.
   * @returns The item.
   * @throws {Empty} When there is none within the timeout.
   */
  *#waitGet(limit: WaitLimit): Steps<unknown> {
    if (!limit.block) throw new Empty();
    const r = yield* this.#ring.read(limit.deadline, decodeOrKeep);
    if (r === TIMED_OUT || r === CLOSED) throw new Empty();
    return this.#got(r);
  }

  #got(item: unknown): unknown {
    if (item instanceof Undecoded) {
      // Not lost: back into the queue (at its end) with its place still
      // counted, and the caller learns why.
      this.#feeder.accept(item.payload, true);
      throw item.error;
    }
    this.#counts.release();
    return item;
  }

  // --- state and closing ---------------------------------------------

  /** `Queue.qsize`. */
  qsize(): number {
    return this.#counts.size();
  }

  /** `Queue.empty`. */
  empty(): boolean {
    return this.#ring.items() <= 0;
  }

  /** `Queue.full`. */
  full(): boolean {
    return this.#counts.full();
  }

  /** `Queue.close`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort(this.#closedError("get"));
  }

  /** `Queue.joinThread`. */
  async joinThread(): Promise<void> {
    if (!this.#closed) {
      throw new ValueError(
        "Cannot join the feeder: the queue is not closed; call close() first",
      );
    }
    await this.#feeder.flushed();
  }

  /** `Queue.cancelJoinThread`. */
  cancelJoinThread(): void {
    this.#feeder.cancelJoin();
  }

  // --- tasks (JoinableQueue) -----------------------------------------

  /** `JoinableQueue.taskDone`. */
  taskDone(): void {
    if (!this.#counts.taskDone()) {
      throw new ValueError(
        "Cannot call taskDone(): it was called more times than items were put",
      );
    }
  }

  /** `JoinableQueue.join`. */
  async join(options: JoinOptions): Promise<void> {
    const deadline = deadlineFrom(options.timeout, "join");
    await driveAsync(this.#counts.join(deadline), this.#counts.ctl);
  }

  /** `JoinableQueue.joinSync`. */
  joinSync(options: JoinOptions): void {
    const deadline = deadlineFrom(options.timeout, "join");
    // This thread's feeder items must reach the consumers.
    driveSync(
      this.#counts.join(deadline),
      this.#counts.ctl,
      "join",
      true,
      pumpFeeders,
    );
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
      `Cannot put: the queue is full (maxsize ${this.#counts.maxsize})`,
    );
  }
}
