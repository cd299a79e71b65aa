/**
 * `Pipe()` and `Connection`: a two-ended channel between processes, as
 * Python's `multiprocessing.Pipe`.
 *
 * ```text
 *  Pipe(true):   a.send ──► ring 1 ──► b.recv
 *                a.recv ◄── ring 2 ◄── b.send
 *  Pipe(false):  [r, w]:  w.send ──► ring ──► r.recv
 * ```
 *
 * Each direction is a shared-memory ring (`_ring.ts`), the same as a
 * queue's, so either end may be passed to any process.
 *
 * @module
 */

import { EOFError, TimeoutError } from "./errors.ts";
import {
  CLOSED,
  driveAsync,
  driveSync,
  EMPTY,
  Ring,
  type RingInit,
  TIMED_OUT,
} from "./_ring.ts";
import { decodeItem, encodeBytes, encodeItem } from "./_ring_codec.ts";
import {
  kShare,
  newShareId,
  registerShareable,
  rememberShared,
} from "./_transfer.ts";
import { deadlineFrom } from "./_wait.ts";

/** The default ring size of each direction of a pipe, in bytes. */
const DEFAULT_BUFFER_SIZE = 1 << 18;

/** Options of {@linkcode Pipe}. */
export interface PipeOptions {
  /**
   * Size of each direction's shared byte ring, in bytes (rounded up to a
   * power of two). A sender waits when it is full; larger messages go
   * through in chunks.
   *
   * @default {262144}
   */
  bufferSize?: number;
}

/** Options of {@linkcode Connection.recv} and its twins. */
export interface RecvOptions {
  /**
   * Seconds to wait for a message before throwing
   * {@linkcode TimeoutError}; no limit when absent.
   *
   * @default {undefined}
   */
  timeout?: number;
}

interface ConnectionState {
  rx: RingInit | null;
  tx: RingInit | null;
}

const BYTES = (payload: Uint8Array): Uint8Array => payload.slice(1);

/** Set while the reviver builds a connection around existing rings. */
let reviving: { state: ConnectionState; id: string } | null = null;

/** Ends a served handle's waits (see `Connection[kCancelWaits]`). */
const kCancelWaits: unique symbol = Symbol.for(
  "@seed/multiprocessing.cancelWaits",
);

/**
 * One end of a {@linkcode Pipe}, as Python's `multiprocessing.connection.
 * Connection`: send and receive structured-cloneable values (`send`,
 * `recv`) or raw bytes (`sendBytes`, `recvBytes`).
 *
 * Pass an end to another process in its `args` and it arrives working.
 * `close()` closes this end for every process that holds it (no need, as
 * in Python, to close the copies a parent handed to its children: do not,
 * it closes theirs too). Once the sending end is closed and every message
 * was received, `recv` throws {@linkcode EOFError}.
 *
 * The async methods wait without blocking the event loop; the `...Sync`
 * twins block the thread (meant for workers; on the main thread they block
 * the event loop, which Deno allows).
 *
 * @example Usage
 * ```ts
 * import { Pipe } from "@seed/multiprocessing";
 *
 * const [a, b] = Pipe();
 * using _a = a; // `using` closes each end at the end of the scope
 * using _b = b;
 * await a.send({ hello: "world" });
 * console.log(await b.recv()); // { hello: "world" }
 * ```
 */
export class Connection {
  readonly #rx: Ring | null;
  readonly #tx: Ring | null;
  readonly #id: string;
  #closed = false;
  /** Aborts this handle's waits when it is closed. */
  readonly #closing = new AbortController();

  /**
   * Not for direct use: call {@linkcode Pipe}.
   *
   * @throws {TypeError} Always, unless called by `Pipe()` or when an end
   * arrives in another process.
   */
  constructor() {
    const r = reviving;
    reviving = null;
    if (r === null) {
      throw new TypeError(
        "Cannot make a Connection: use Pipe() to make a connected pair",
      );
    }
    this.#rx = r.state.rx && new Ring(r.state.rx);
    this.#tx = r.state.tx && new Ring(r.state.tx);
    this.#id = r.id;
    rememberShared("Connection", this.#id, this);
  }

  /**
   * Describes this end for another process (see `_transfer.ts`).
   *
   * @returns The descriptor: the rings' shared buffers.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    const data: ConnectionState = {
      rx: this.#rx?.init ?? null,
      tx: this.#tx?.init ?? null,
    };
    return { tag: "Connection", id: this.#id, data };
  }

  /** Whether this end can receive (`false` for a one-way pipe's sender). */
  get readable(): boolean {
    return this.#rx !== null;
  }

  /** Whether this end can send (`false` for a one-way pipe's receiver). */
  get writable(): boolean {
    return this.#tx !== null;
  }

  /**
   * Whether this end is closed, here or by another process holding it.
   */
  get closed(): boolean {
    return this.#closed || (this.#tx?.writeClosed() ?? false) ||
      (this.#rx?.readClosed() ?? false);
  }

  /**
   * Sends `obj` to the other end, waiting while the channel is full.
   *
   * Cancellation: `close()` on this handle rejects a waiting send. There
   * is no timeout: the receiver drains or closes.
   *
   * @param obj Any structured-cloneable value.
   * @returns A promise that resolves once the message is in the channel.
   * @throws {Deno.errors.BrokenPipe} When the other end is closed.
   * @throws {Error} When this end is closed or cannot send.
   * @throws {DOMException} `DataCloneError` when `obj` cannot be cloned.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [a, b] = Pipe();
   * await a.send(new Map([["k", 1n]]));
   * console.log(await b.recv()); // Map(1) { "k" => 1n }
   * a.close();
   * b.close();
   * ```
   */
  async send(obj: unknown): Promise<void> {
    const tx = this.#txRing("send");
    const payload = encodeItem(obj);
    if (tx.readClosed()) throw this.#broken();
    if (tx.tryWrite(payload)) return;
    await this.#write(tx, payload.slice());
  }

  /**
   * Sends `obj`, blocking the thread while the channel is full. A blocked
   * call cannot be cancelled; it ends when the receiver drains or closes.
   *
   * @param obj Any structured-cloneable value.
   * @throws {Deno.errors.BrokenPipe} When the other end is closed.
   * @throws {Error} When this end is closed or cannot send.
   * @throws {DOMException} `DataCloneError` when `obj` cannot be cloned.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [r, w] = Pipe(false);
   * w.sendSync([1, "two"]);
   * console.log(r.recvSync()); // [1, "two"]
   * r.close();
   * w.close();
   * ```
   */
  sendSync(obj: unknown): void {
    const tx = this.#txRing("send");
    this.#writeSync(tx, encodeItem(obj));
  }

  /**
   * Sends bytes (`buf`, or `size` bytes of it from `offset`) as one
   * message, waiting while the channel is full. Cancellation as
   * {@linkcode Connection.send}.
   *
   * @param buf The bytes (copied).
   * @param offset Where to start in `buf`.
   * @param size How many bytes; the rest of `buf` when absent.
   * @returns A promise that resolves once the message is in the channel.
   * @throws {RangeError} When `offset`/`size` fall outside `buf`.
   * @throws {Deno.errors.BrokenPipe} When the other end is closed.
   * @throws {Error} When this end is closed or cannot send.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [a, b] = Pipe();
   * await a.sendBytes(new TextEncoder().encode("hi"));
   * console.log(new TextDecoder().decode(await b.recvBytes())); // "hi"
   * a.close();
   * b.close();
   * ```
   */
  async sendBytes(
    buf: ArrayBufferView | ArrayBuffer,
    offset = 0,
    size?: number,
  ): Promise<void> {
    const tx = this.#txRing("send");
    const payload = encodeBytes(bytesOf(buf, offset, size));
    if (tx.readClosed()) throw this.#broken();
    if (tx.tryWrite(payload)) return;
    await this.#write(tx, payload.slice());
  }

  /**
   * Sends bytes as one message, blocking the thread while the channel is
   * full (see {@linkcode Connection.sendBytes}).
   *
   * @param buf The bytes (copied).
   * @param offset Where to start in `buf`.
   * @param size How many bytes; the rest of `buf` when absent.
   * @throws {RangeError} When `offset`/`size` fall outside `buf`.
   * @throws {Deno.errors.BrokenPipe} When the other end is closed.
   * @throws {Error} When this end is closed or cannot send.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [a, b] = Pipe();
   * a.sendBytesSync(new Uint8Array([1, 2, 3]), 1);
   * console.log(b.recvBytesSync()); // Uint8Array(2) [ 2, 3 ]
   * a.close();
   * b.close();
   * ```
   */
  sendBytesSync(
    buf: ArrayBufferView | ArrayBuffer,
    offset = 0,
    size?: number,
  ): void {
    const tx = this.#txRing("send");
    this.#writeSync(tx, encodeBytes(bytesOf(buf, offset, size)));
  }

  /**
   * Receives the next message, waiting for one. A message sent with
   * `sendBytes` arrives as a `Uint8Array`.
   *
   * Timeout: with `timeout`, rejects with {@linkcode TimeoutError} once that
   * many seconds passed (Python's `recv` has none; `poll` first is the
   * Python way). Cancellation: `close()` on this handle rejects it.
   *
   * @param options How long to wait.
   * @returns A promise of the message.
   * @throws {EOFError} When the other end is closed and nothing is left.
   * @throws {TimeoutError} When nothing came within the timeout.
   * @throws {Error} When this end is closed or cannot receive.
   *
   * @example Usage
   * ```ts
   * import { EOFError, Pipe } from "@seed/multiprocessing";
   *
   * const [r, w] = Pipe(false);
   * await w.send("last");
   * w.close();
   * console.log(await r.recv()); // "last"
   * await r.recv().catch((e) => console.log(e instanceof EOFError)); // true
   * r.close();
   * ```
   */
  async recv(options: RecvOptions = {}): Promise<unknown> {
    return await this.#read("receive", options, decodeItem);
  }

  /**
   * Receives the next message, blocking the thread until there is one.
   * A blocked call cannot be cancelled.
   *
   * @param options How long to wait.
   * @returns The message.
   * @throws {EOFError} When the other end is closed and nothing is left.
   * @throws {TimeoutError} When nothing came within the timeout.
   * @throws {Error} When this end is closed or cannot receive.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [a, b] = Pipe();
   * b.sendSync(new Date(0));
   * console.log(a.recvSync({ timeout: 1 })); // 1970-01-01T00:00:00.000Z
   * a.close();
   * b.close();
   * ```
   */
  recvSync(options: RecvOptions = {}): unknown {
    return this.#readSync("receive", options, decodeItem);
  }

  /**
   * Receives the next message as bytes (a message sent with `send` comes
   * in its encoded form). Waits as {@linkcode Connection.recv}.
   *
   * @param maxlength The longest message accepted.
   * @param options How long to wait.
   * @returns A promise of the bytes.
   * @throws {RangeError} When the message is longer than `maxlength` (it
   * is dropped).
   * @throws {EOFError} When the other end is closed and nothing is left.
   * @throws {TimeoutError} When nothing came within the timeout.
   * @throws {Error} When this end is closed or cannot receive.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [a, b] = Pipe();
   * await b.sendBytes(new Uint8Array([7]));
   * console.log(await a.recvBytes()); // Uint8Array(1) [ 7 ]
   * a.close();
   * b.close();
   * ```
   */
  async recvBytes(
    maxlength?: number,
    options: RecvOptions = {},
  ): Promise<Uint8Array> {
    const bytes = await this.#read("receive bytes", options, BYTES);
    return checkLength(bytes, maxlength);
  }

  /**
   * Receives the next message as bytes, blocking the thread (see
   * {@linkcode Connection.recvBytes}).
   *
   * @param maxlength The longest message accepted.
   * @param options How long to wait.
   * @returns The bytes.
   * @throws {RangeError} When the message is longer than `maxlength` (it
   * is dropped).
   * @throws {EOFError} When the other end is closed and nothing is left.
   * @throws {TimeoutError} When nothing came within the timeout.
   * @throws {Error} When this end is closed or cannot receive.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [a, b] = Pipe();
   * b.sendBytesSync(new Uint8Array([7, 8]));
   * console.log(a.recvBytesSync(2)); // Uint8Array(2) [ 7, 8 ]
   * a.close();
   * b.close();
   * ```
   */
  recvBytesSync(maxlength?: number, options: RecvOptions = {}): Uint8Array {
    return checkLength(
      this.#readSync("receive bytes", options, BYTES),
      maxlength,
    );
  }

  /**
   * Whether a message (or EOF) is ready to receive, waiting up to
   * `timeout` seconds for one: at once when absent (as Python), forever
   * when `null`. Cancellation: `close()` on this handle resolves it with
   * `false`.
   *
   * @param timeout Seconds to wait; `null` for no limit; a negative value
   *   does not wait (as in Python).
   * @returns A promise of `true` when `recv` would not wait.
   * @throws {Error} When this end is closed or cannot receive.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [a, b] = Pipe();
   * console.log(await a.poll(0.01)); // false
   * await b.send(1);
   * console.log(await a.poll()); // true
   * a.close();
   * b.close();
   * ```
   */
  async poll(timeout?: number | null): Promise<boolean> {
    const rx = this.#rxRing("poll");
    const deadline = pollDeadline(timeout);
    try {
      return await driveAsync(
        rx.poll(deadline),
        rx.ctl,
        this.#closing.signal,
      );
    } catch (e) {
      if (this.#closing.signal.aborted) return false;
      throw e;
    }
  }

  /**
   * Whether a message (or EOF) is ready, blocking the thread up to
   * `timeout` seconds (see {@linkcode Connection.poll}).
   *
   * @param timeout Seconds to wait; `null` for no limit; a negative value
   *   does not wait (as in Python).
   * @returns `true` when `recv` would not wait.
   * @throws {Error} When this end is closed or cannot receive.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [a, b] = Pipe();
   * console.log(a.pollSync()); // false
   * a.close();
   * b.close();
   * ```
   */
  pollSync(timeout?: number | null): boolean {
    const rx = this.#rxRing("poll");
    return driveSync(rx.poll(pollDeadline(timeout)), rx.ctl, "poll");
  }

  /**
   * Closes this end, for every process that holds it: the other end's
   * `recv` throws {@linkcode EOFError} once it has read what was sent, and
   * its `send` throws `BrokenPipe`. Waits of this handle end (gets and
   * sends reject, polls resolve `false`). Closing twice is harmless.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [a, b] = Pipe();
   * a.close();
   * console.log(a.closed); // true
   * b.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#tx?.closeWrite();
    this.#rx?.closeRead();
    this.#closing.abort(new Error("Cannot wait: the connection was closed"));
  }

  /** Closes this end; same as {@linkcode Connection.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Ends the waits of this handle (and its later ones) without closing
   * the connection: a parent serving this end to a `"subprocess"` child
   * that died calls it, so a `recv` the child left waiting takes nothing
   * that another reader of this end would have got.
   *
   * @internal
   */
  [kCancelWaits](): void {
    this.#closing.abort(
      new Error("Cannot wait: the process that waited has ended"),
    );
  }

  // --- internals -----------------------------------------------------

  #checkOpen(action: string): void {
    if (this.closed) {
      throw new Error(`Cannot ${action}: the connection is closed`);
    }
  }

  #txRing(action: string): Ring {
    this.#checkOpen(action);
    if (this.#tx === null) {
      throw new Error(
        `Cannot ${action}: this end of a one-way pipe only receives`,
      );
    }
    return this.#tx;
  }

  #rxRing(action: string): Ring {
    if (this.#closed || (this.#rx?.readClosed() ?? false)) {
      throw new Error(`Cannot ${action}: the connection is closed`);
    }
    if (this.#rx === null) {
      throw new Error(
        `Cannot ${action}: this end of a one-way pipe only sends`,
      );
    }
    return this.#rx;
  }

  #broken(): Error {
    return new Deno.errors.BrokenPipe(
      "Cannot send: the other end of the pipe is closed",
    );
  }

  async #write(tx: Ring, payload: Uint8Array): Promise<void> {
    let r: true | typeof TIMED_OUT | typeof CLOSED;
    try {
      r = await driveAsync(
        tx.write(payload, Infinity),
        tx.ctl,
        this.#closing.signal,
      );
    } catch (e) {
      if (this.#closing.signal.aborted) this.#checkOpen("send");
      throw e;
    }
    if (r !== true) throw this.#broken();
  }

  #writeSync(tx: Ring, payload: Uint8Array): void {
    if (tx.readClosed()) throw this.#broken();
    if (tx.tryWrite(payload)) return;
    if (driveSync(tx.write(payload, Infinity), tx.ctl, "send") !== true) {
      throw this.#broken();
    }
  }

  async #read<T>(
    action: string,
    options: RecvOptions,
    decode: (payload: Uint8Array) => T,
  ): Promise<T> {
    const rx = this.#rxRing(action);
    const deadline = deadlineFrom(options.timeout, action);
    const fast = rx.tryRead(decode);
    if (fast !== EMPTY) return fast;
    let r: T | typeof TIMED_OUT | typeof CLOSED;
    try {
      r = await driveAsync(
        rx.read(deadline, decode),
        rx.ctl,
        this.#closing.signal,
      );
    } catch (e) {
      if (this.#closing.signal.aborted) this.#rxRing(action);
      throw e;
    }
    return this.#result(action, r, options);
  }

  #readSync<T>(
    action: string,
    options: RecvOptions,
    decode: (payload: Uint8Array) => T,
  ): T {
    const rx = this.#rxRing(action);
    const deadline = deadlineFrom(options.timeout, action);
    const fast = rx.tryRead(decode);
    if (fast !== EMPTY) return fast;
    const r = driveSync(rx.read(deadline, decode), rx.ctl, action);
    return this.#result(action, r, options);
  }

  #result<T>(
    action: string,
    r: T | typeof TIMED_OUT | typeof CLOSED,
    options: RecvOptions,
  ): T {
    if (r === CLOSED) throw new EOFError();
    if (r === TIMED_OUT) {
      throw new TimeoutError(
        `Cannot ${action}: nothing arrived within ${options.timeout}s`,
      );
    }
    return r;
  }
}

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

function makeConnection(state: ConnectionState, id: string): Connection {
  reviving = { state, id };
  return new Connection();
}

/**
 * Makes a pipe: two connected {@linkcode Connection} ends, as Python's
 * `multiprocessing.Pipe`. Duplex by default (each end sends and
 * receives); with `duplex = false`, the first end only receives and the
 * second only sends (Python's order: `const [r, w] = Pipe(false)`).
 *
 * @param duplex Whether both ends send and receive.
 * @param options The size of each direction's ring.
 * @returns The two ends.
 * @throws {RangeError} When `bufferSize` is not a positive integer.
 *
 * @example Usage
 * ```ts
 * import { Pipe } from "@seed/multiprocessing";
 *
 * const [r, w] = Pipe(false);
 * await w.send("ping");
 * console.log(await r.recv(), r.writable, w.readable); // "ping" false false
 * r.close();
 * w.close();
 * ```
 */
export function Pipe(
  duplex = true,
  options: PipeOptions = {},
): [Connection, Connection] {
  const size = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
  const one = Ring.create(size).init;
  if (!duplex) {
    return [
      makeConnection({ rx: one, tx: null }, newShareId()),
      makeConnection({ rx: null, tx: one }, newShareId()),
    ];
  }
  const two = Ring.create(size).init;
  return [
    makeConnection({ rx: two, tx: one }, newShareId()),
    makeConnection({ rx: one, tx: two }, newShareId()),
  ];
}

registerShareable(
  "Connection",
  (data, id) => makeConnection(data as ConnectionState, id),
);
