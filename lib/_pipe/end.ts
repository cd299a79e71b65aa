/**
 * The workings of one handle of a pipe end, behind the public
 * `Connection` (which carries the docs and hands every call here): the
 * rings it sends and receives through, its place in the holders table, and
 * whether it is closed.
 *
 * Each wait is written once, as a wait loop for `_shm/drive.ts`: the
 * wait of a send that found no room (`sendRest`), of a receive that found
 * nothing (`receiveRest`) and a poll are each driven by `driveAsync` for
 * the async method and by `driveSync` for its `...Sync` twin. A blocking
 * wait also keeps this thread's queue feeders writing
 * (`_queue/feeder.ts`).
 *
 * @module
 */

import { BrokenPipeError, EOFError, TimeoutError } from "../errors.ts";
import { CLOSED, EMPTY, Ring, type RingInit, TIMED_OUT } from "../_shm/ring.ts";
import { driveAsync, driveSync, type Steps } from "../_shm/drive.ts";
import { decodeItem, encodeBytes, encodeItem } from "../_shm/codec.ts";
import { deadlineFrom } from "../_common/timer.ts";
import { currentKey } from "../_common/runtime.ts";
import { Holders } from "./holders.ts";
import { pumpFeeders } from "../_queue/feeder.ts";

/**
 * The key of a `Connection`'s workings. Internal: not exported by
 * `mod.ts`.
 */
export const kEnd: unique symbol = Symbol("pipe end");

/** What crosses to another process for one end. */
export interface EndState {
  /** The ring this end receives from (`null`: it only sends). */
  rx: RingInit | null;
  /** The ring this end sends to (`null`: it only receives). */
  tx: RingInit | null;
  /** The holders table of both ends (`holders.ts`). */
  holders: SharedArrayBuffer;
  /** This end's side (0 or 1); the other end's is `side ^ 1`. */
  side: number;
  /** The process this handle is for, when the sender knew it. */
  holder?: number;
}

/** Options of a receive. */
export interface ReceiveOptions {
  /** Seconds to wait; no limit when absent. */
  timeout?: number;
}

/** A received message as its bytes (the format byte dropped). */
function rawBytes(payload: Uint8Array): Uint8Array {
  return payload.slice(1);
}

/**
 * Gives a `Connection` its workings: a property that is not enumerable,
 * so inspecting a connection shows none of them.
 *
 * @param handle The `Connection`.
 * @param end Its workings.
 * @returns `handle`.
 */
export function withEnd<C extends object>(handle: C, end: PipeEnd): C {
  Object.defineProperty(handle, kEnd, { value: end });
  return handle;
}

/** One handle of a pipe end in this process. */
export class PipeEnd {
  readonly #rx: Ring | null;
  readonly #tx: Ring | null;
  readonly #holders: Holders;
  readonly #side: number;
  /** The process key this handle holds its end for. */
  readonly #holder: number;
  /** The end's share id (the same in every process). */
  readonly id: string;
  #closed = false;
  /** Aborts this handle's waits when it is closed. */
  readonly #closing = new AbortController();

  /**
   * Wraps an end's shared buffers and counts this process (or the one the
   * sender named) among its holders.
   *
   * @param state The end's buffers and side.
   * @param id The end's share id.
   * @throws {RangeError} When the end's holders table is full.
   */
  constructor(state: EndState, id: string) {
    this.id = id;
    const holders = new Holders(state.holders);
    const other = state.side ^ 1;
    const gone = () => !holders.held(other);
    this.#rx = state.rx && new Ring(state.rx, { writersGone: gone });
    this.#tx = state.tx && new Ring(state.tx, { readersGone: gone });
    this.#holders = holders;
    this.#side = state.side;
    this.#holder = state.holder ?? currentKey();
    holders.add(state.side, this.#holder);
  }

  /**
   * Makes a new pipe's two ends' states.
   *
   * @param duplex Whether both ends send and receive.
   * @param bufferSize Each direction's ring size.
   * @returns The states of the first and the second end.
   * @throws {RangeError} When `bufferSize` is not a positive integer.
   */
  static pair(duplex: boolean, bufferSize: number): [EndState, EndState] {
    const one = Ring.create(bufferSize).init;
    const holders = Holders.create();
    if (!duplex) {
      return [
        { rx: one, tx: null, holders, side: 0 },
        { rx: null, tx: one, holders, side: 1 },
      ];
    }
    const two = Ring.create(bufferSize).init;
    return [
      { rx: two, tx: one, holders, side: 0 },
      { rx: one, tx: two, holders, side: 1 },
    ];
  }

  /**
   * Describes this end for another process.
   *
   * @param holder The receiving process, when known: it holds the end
   * from now on, so this process may close its own handle before the
   * receiver has even started.
   * @returns The end's state.
   */
  state(holder?: number): EndState {
    if (holder !== undefined) this.#holders.add(this.#side, holder);
    return {
      rx: this.#rx?.init ?? null,
      tx: this.#tx?.init ?? null,
      holders: this.#holders.table.buffer as SharedArrayBuffer,
      side: this.#side,
      holder,
    };
  }

  /** `Connection.readable`. */
  get readable(): boolean {
    return this.#rx !== null;
  }

  /** `Connection.writable`. */
  get writable(): boolean {
    return this.#tx !== null;
  }

  /** `Connection.closed`. */
  get closed(): boolean {
    return this.#closed;
  }

  // --- send ----------------------------------------------------------

  /** `Connection.send`. */
  async send(obj: unknown): Promise<void> {
    const tx = this.#ring("send", this.#tx, "receives");
    const payload = encodeItem(obj);
    // A copy to wait with: this thread may encode other messages meanwhile.
    if (!sendNow(tx, payload)) {
      await this.#drive(sendRest(tx, payload.slice()), tx, "send");
    }
  }

  /** `Connection.sendSync`. */
  sendSync(obj: unknown): void {
    const tx = this.#ring("send", this.#tx, "receives");
    const payload = encodeItem(obj);
    if (!sendNow(tx, payload)) sendRestSync(tx, payload);
  }

  /** `Connection.sendBytes`. */
  async sendBytes(
    buf: ArrayBufferView | ArrayBuffer,
    offset: number,
    size: number | undefined,
  ): Promise<void> {
    const tx = this.#ring("send", this.#tx, "receives");
    const payload = encodeBytes(bytesOf(buf, offset, size));
    if (!sendNow(tx, payload)) {
      await this.#drive(sendRest(tx, payload.slice()), tx, "send");
    }
  }

  /** `Connection.sendBytesSync`. */
  sendBytesSync(
    buf: ArrayBufferView | ArrayBuffer,
    offset: number,
    size: number | undefined,
  ): void {
    const tx = this.#ring("send", this.#tx, "receives");
    const payload = encodeBytes(bytesOf(buf, offset, size));
    if (!sendNow(tx, payload)) sendRestSync(tx, payload);
  }

  // --- receive -------------------------------------------------------

  /** `Connection.recv`. */
  recv(options: ReceiveOptions): Promise<unknown> {
    return this.#receive("receive", options, decodeItem);
  }

  /** `Connection.recvSync`. */
  recvSync(options: ReceiveOptions): unknown {
    return this.#receiveSync("receive", options, decodeItem);
  }

  /** `Connection.recvBytes`. */
  async recvBytes(
    maxlength: number | undefined,
    options: ReceiveOptions,
  ): Promise<Uint8Array> {
    const bytes = await this.#receive("receive bytes", options, rawBytes);
    return checkLength(bytes, maxlength);
  }

  /** `Connection.recvBytesSync`. */
  recvBytesSync(
    maxlength: number | undefined,
    options: ReceiveOptions,
  ): Uint8Array {
    const bytes = this.#receiveSync("receive bytes", options, rawBytes);
    return checkLength(bytes, maxlength);
  }

  async #receive<T>(
    action: string,
    options: ReceiveOptions,
    decode: (payload: Uint8Array) => T,
  ): Promise<T> {
    const rx = this.#ring(action, this.#rx, "sends");
    const deadline = deadlineFrom(options.timeout, action);
    const fast = rx.tryRead(decode);
    if (fast !== EMPTY) return fast;
    const steps = receiveRest(rx, action, options, deadline, decode);
    return await this.#drive(steps, rx, action);
  }

  #receiveSync<T>(
    action: string,
    options: ReceiveOptions,
    decode: (payload: Uint8Array) => T,
  ): T {
    const rx = this.#ring(action, this.#rx, "sends");
    const deadline = deadlineFrom(options.timeout, action);
    const fast = rx.tryRead(decode);
    if (fast !== EMPTY) return fast;
    const steps = receiveRest(rx, action, options, deadline, decode);
    return driveSync(steps, rx.ctl, action, true, pumpFeeders);
  }

  // --- poll ----------------------------------------------------------

  /** `Connection.poll`. */
  async poll(timeout: number | null | undefined): Promise<boolean> {
    const rx = this.#ring("poll", this.#rx, "sends");
    const deadline = pollDeadline(timeout);
    try {
      return await driveAsync(rx.poll(deadline), rx.ctl, this.#closing.signal);
    } catch (e) {
      if (this.#closing.signal.aborted) return false;
      throw e;
    }
  }

  /** `Connection.pollSync`. */
  pollSync(timeout: number | null | undefined): boolean {
    const rx = this.#ring("poll", this.#rx, "sends");
    const steps = rx.poll(pollDeadline(timeout));
    return driveSync(steps, rx.ctl, "poll", true, pumpFeeders);
  }

  // --- closing -------------------------------------------------------

  /** `Connection.close`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#holders.remove(this.#side, this.#holder);
    // The other end's waiters look again now, not at their next slice.
    this.#tx?.wakeAll();
    this.#rx?.wakeAll();
    this.#closing.abort(new Error("Cannot wait: the connection was closed"));
  }

  /** `Connection[kCancelWaits]`. */
  cancelWaits(): void {
    this.#closing.abort(
      new Error("Cannot wait: the process that waited has ended"),
    );
  }

  // --- internals -----------------------------------------------------

  /**
   * The ring for `action`, once this handle is open and has one.
   *
   * @param ring This handle's ring for the action (`null`: none).
   * @param only What this end does instead, for the message.
   */
  #ring(action: string, ring: Ring | null, only: string): Ring {
    if (this.#closed) throw this.#closedError(action);
    if (ring === null) {
      throw new Error(
        `Cannot ${action}: this end of a one-way pipe only ${only}`,
      );
    }
    return ring;
  }

  #closedError(action: string): Error {
    return new Error(
      `Cannot ${action}: this handle of the connection is closed`,
    );
  }

  /**
   * Drives an async twin's wait loop; a wait that `close()` ended throws
   * the closed handle's error for `action`.
   */
  async #drive<T>(steps: Steps<T>, ring: Ring, action: string): Promise<T> {
    try {
      return await driveAsync(steps, ring.ctl, this.#closing.signal);
    } catch (e) {
      if (this.#closing.signal.aborted && this.#closed) {
        throw this.#closedError(action);
      }
      throw e;
    }
  }
}

/**
 * The start of a send, without waiting.
 *
 * @returns Whether the message is in the ring.
 * @throws {BrokenPipeError} When no process holds the other end.
 */
function sendNow(tx: Ring, payload: Uint8Array): boolean {
  if (tx.readClosed()) throw new BrokenPipeError();
  return tx.tryWrite(payload);
}

/**
 * The wait of a send that found no room, written once for both twins.
 *
 * @param own The encoded message, the caller's to keep until written.
 * @throws {BrokenPipeError} When no process holds the other end.
 */
function* sendRest(tx: Ring, own: Uint8Array): Steps<void> {
  if ((yield* tx.write(own, Infinity)) !== true) throw new BrokenPipeError();
}

/** `sendRest`, blocking the thread (its feeders keep writing). */
function sendRestSync(tx: Ring, payload: Uint8Array): void {
  driveSync(sendRest(tx, payload), tx.ctl, "send", true, pumpFeeders);
}

/**
 * The wait of a receive that found nothing, written once for both twins.
 *
 * @returns The message.
 * @throws {EOFError} When no process holds the other end and nothing is
 * left.
 * @throws {TimeoutError} When nothing came within the timeout.
 */
function* receiveRest<T>(
  rx: Ring,
  action: string,
  options: ReceiveOptions,
  deadline: number,
  decode: (payload: Uint8Array) => T,
): Steps<T> {
  const r = yield* rx.read(deadline, decode);
  if (r === CLOSED) throw new EOFError();
  if (r === TIMED_OUT) {
    throw new TimeoutError(
      `Cannot ${action}: nothing arrived within ${options.timeout}s`,
    );
  }
  return r;
}

/** The bytes `sendBytes` sends: `size` bytes of `buf` from `offset`. */
function bytesOf(
  buf: ArrayBufferView | ArrayBuffer,
  offset: number,
  size: number | undefined,
): Uint8Array {
  const all = buf instanceof ArrayBuffer
    ? new Uint8Array(buf)
    : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (!Number.isInteger(offset) || offset < 0 || offset > all.length) {
    throw new RangeError(
      `Cannot send the bytes: 'offset' ${offset} is outside the buffer of ${all.length} bytes`,
    );
  }
  const n = size ?? all.length - offset;
  if (!Number.isInteger(n) || n < 0 || offset + n > all.length) {
    throw new RangeError(
      `Cannot send the bytes: 'size' ${size} from 'offset' ${offset} exceeds the buffer of ${all.length} bytes`,
    );
  }
  return all.subarray(offset, offset + n);
}

function checkLength(bytes: Uint8Array, maxlength?: number): Uint8Array {
  if (maxlength !== undefined && bytes.length > maxlength) {
    throw new RangeError(
      `Cannot receive the bytes: the message has ${bytes.length} bytes, more than 'maxlength' ${maxlength}`,
    );
  }
  return bytes;
}

function pollDeadline(timeout: number | null | undefined): number {
  if (timeout === undefined) return performance.now();
  return deadlineFrom(timeout, "poll");
}
