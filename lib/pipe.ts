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
 * Each direction is a shared-memory ring (`_shm/ring.ts`), the same as a
 * queue's, so either end may be passed to any process.
 *
 * As in Python, each process holds its own handle of an end, and an end
 * is open while some live process holds it. Who holds each end lives in
 * shared memory, in a table of process keys per end:
 *
 * ```text
 *  holders (Int32Array)  [ end 0: key | key | 0 | … ][ end 1: key | 0 | … ]
 *  Pipe()           puts this process's key in both tables
 *  passing an end   puts the receiving process's key in its table when
 *                   the end is encoded for it (so the sender may close
 *                   its own handle at once, as Python's idiom does), and
 *                   the receiver adds its own key when it revives the end
 *  close()          takes this process's key out of its end's table
 *  a process ends   its key is marked dead in the liveness table
 *                   (`_common/runtime.ts`): its entries no longer count
 * ```
 *
 * An end "has no holder" when no entry of its table names a live process.
 * Then the other end's `recv` throws `EOFError` once drained, and its
 * `send` throws `BrokenPipeError`. Nothing has to run when a process
 * dies: waiters look again at least every 50 ms (`_shm/ring.ts`), and
 * `close()` wakes them at once.
 *
 * @module
 */

import { BrokenPipeError, EOFError, TimeoutError } from "./errors.ts";
import {
  CLOSED,
  driveAsync,
  driveSync,
  EMPTY,
  Ring,
  type RingInit,
  TIMED_OUT,
} from "./_shm/ring.ts";
import { decodeItem, encodeBytes, encodeItem } from "./_shm/codec.ts";
import {
  kShare,
  newShareId,
  registerShareable,
  rememberShared,
} from "./_common/transfer.ts";
import { currentKey, isAlive } from "./_common/runtime.ts";
import { deadlineFrom } from "./_shm/wait.ts";

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

/** Entries per end in the holders table (see the module doc). */
const HOLDER_SLOTS = 32;

interface ConnectionState {
  rx: RingInit | null;
  tx: RingInit | null;
  /** Who holds each end: `2 * HOLDER_SLOTS` process keys. */
  holders: SharedArrayBuffer;
  /** This end's table (0 or 1); the other end's is `side ^ 1`. */
  side: number;
  /** The process this handle is for, when the sender knew it. */
  holder?: number;
}

/**
 * Adds `key` to `side`'s holders (once), reusing an entry of a process
 * that died.
 */
function addHolder(t: Int32Array, side: number, key: number): void {
  const base = side * HOLDER_SLOTS;
  for (let i = base; i < base + HOLDER_SLOTS; i++) {
    if (Atomics.load(t, i) === key) return;
  }
  for (let i = base; i < base + HOLDER_SLOTS; i++) {
    const v = Atomics.load(t, i);
    if (
      (v === 0 || !isAlive(v)) && Atomics.compareExchange(t, i, v, key) === v
    ) {
      return;
    }
  }
  throw new RangeError(
    `Cannot pass the connection on: ${HOLDER_SLOTS} live processes hold this end already; close() it in some of them first`,
  );
}

/** Takes `key` out of `side`'s holders. */
function removeHolder(t: Int32Array, side: number, key: number): void {
  const base = side * HOLDER_SLOTS;
  for (let i = base; i < base + HOLDER_SLOTS; i++) {
    Atomics.compareExchange(t, i, key, 0);
  }
}

/** Whether some live process holds `side`. */
function held(t: Int32Array, side: number): boolean {
  const base = side * HOLDER_SLOTS;
  for (let i = base; i < base + HOLDER_SLOTS; i++) {
    const v = Atomics.load(t, i);
    if (v !== 0 && isAlive(v)) return true;
  }
  return false;
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
 * Pass an end to another process in its `args` and it arrives working;
 * as in Python, that process then holds its own handle of the end.
 * `close()` closes this process's handle only, and a process that ends
 * closes its handles. Once no process holds the other end, `recv` throws
 * {@linkcode EOFError} (after every message sent was received) and `send`
 * throws {@linkcode BrokenPipeError}. Python's idiom works: the parent
 * closes its copy of the child's end after starting the child, and its
 * `recv` gets `EOFError` once the child closed it, ended or was killed.
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
  readonly #holders: Int32Array;
  readonly #side: number;
  /** The process key this handle holds its end for. */
  readonly #holder: number;
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
    const { state } = r;
    const holders = new Int32Array(state.holders);
    const other = state.side ^ 1;
    const gone = () => !held(holders, other);
    this.#rx = state.rx && new Ring(state.rx, { writersGone: gone });
    this.#tx = state.tx && new Ring(state.tx, { readersGone: gone });
    this.#id = r.id;
    this.#holders = holders;
    this.#side = state.side;
    this.#holder = state.holder ?? currentKey();
    addHolder(holders, state.side, this.#holder);
    rememberShared("Connection", this.#id, this);
  }

  /**
   * Describes this end for another process (see `_common/transfer.ts`).
   *
   * @returns The descriptor: the rings' shared buffers.
   */
  [kShare](holder?: number): { tag: string; id: string; data: unknown } {
    // The receiver holds the end from now on, so this process may close
    // its own handle before the receiver has even started.
    if (holder !== undefined) addHolder(this.#holders, this.#side, holder);
    const data: ConnectionState = {
      rx: this.#rx?.init ?? null,
      tx: this.#tx?.init ?? null,
      holders: this.#holders.buffer as SharedArrayBuffer,
      side: this.#side,
      holder,
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

  /** Whether this handle was closed (by `close()` in this process). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends `obj` to the other end, waiting while the channel is full.
   *
   * Cancellation: `close()` on this handle rejects a waiting send. There
   * is no timeout: the receiver drains or closes.
   *
   * @param obj Any structured-cloneable value.
   * @returns A promise that resolves once the message is in the channel.
   * @throws {BrokenPipeError} When no process holds the other end.
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
   * @throws {BrokenPipeError} When no process holds the other end.
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
   * @throws {BrokenPipeError} When no process holds the other end.
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
   * @throws {BrokenPipeError} When no process holds the other end.
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
   * @throws {EOFError} When no process holds the other end and nothing is
   * left.
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
   * @throws {EOFError} When no process holds the other end and nothing is
   * left.
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
   * @throws {EOFError} When no process holds the other end and nothing is
   * left.
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
   * @throws {EOFError} When no process holds the other end and nothing is
   * left.
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
   * Closes this process's handle of this end (Python's `close`); other
   * processes' handles stay open. Once no process holds this end, the
   * other end's `recv` throws {@linkcode EOFError} after it has read what
   * was sent, and its `send` throws {@linkcode BrokenPipeError}. Waits of
   * this handle end (receives and sends reject, polls resolve `false`).
   * Closing twice is harmless.
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
    removeHolder(this.#holders, this.#side, this.#holder);
    // The other end's waiters look again now, not at their next slice.
    this.#tx?.wakeAll();
    this.#rx?.wakeAll();
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
    if (this.#closed) {
      throw new Error(
        `Cannot ${action}: this handle of the connection is closed`,
      );
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
    this.#checkOpen(action);
    if (this.#rx === null) {
      throw new Error(
        `Cannot ${action}: this end of a one-way pipe only sends`,
      );
    }
    return this.#rx;
  }

  #broken(): Error {
    return new BrokenPipeError();
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
  const holders = new SharedArrayBuffer(2 * HOLDER_SLOTS * 4);
  if (!duplex) {
    return [
      makeConnection({ rx: one, tx: null, holders, side: 0 }, newShareId()),
      makeConnection({ rx: null, tx: one, holders, side: 1 }, newShareId()),
    ];
  }
  const two = Ring.create(size).init;
  return [
    makeConnection({ rx: two, tx: one, holders, side: 0 }, newShareId()),
    makeConnection({ rx: one, tx: two, holders, side: 1 }, newShareId()),
  ];
}

registerShareable(
  "Connection",
  (data, id) => makeConnection(data as ConnectionState, id),
);
