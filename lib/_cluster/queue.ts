/**
 * The broker-backed `Queue` of `./cluster`: a FIFO Redis list that any
 * program, host or task reaches by its broker and name.
 *
 * ```text
 *  put  ─ encode ─► bounded: EVAL (RPUSH if LLEN < maxsize, atomically)
 *                   unbounded: RPUSH mp:q:<name>
 *  get  ◄ decode ◄─ LPOP (no wait) or BLPOP (waits, on its own connection)
 * ```
 *
 * Each item goes to exactly one getter (LPOP/BLPOP are atomic). A full
 * bounded queue makes `put` look again with a backoff of up to 50 ms.
 *
 * May import: the core errors and checks, `./broker.ts`, `./protocol.ts`.
 *
 * @module
 */

import { Empty, Full } from "../errors.ts";
import type { GetOptions, PutOptions } from "../queue.ts";
import { deadlineFrom } from "../_common/timer.ts";
import { Broker, checkBrokerUrl, type TlsOptions } from "./broker.ts";
import { checkName, checkSeconds } from "./options.ts";
import { decode, encode } from "./protocol.ts";

/** Pushes only while the list is shorter than the bound (atomically). */
const PUT_BOUNDED =
  "if redis.call('LLEN', KEYS[1]) < tonumber(ARGV[1]) then return redis.call('RPUSH', KEYS[1], ARGV[2]) end return -1";

/** Options of the broker {@linkcode Queue}. */
export interface ClusterQueueOptions {
  /** The broker: `redis://[user:password@]host:port[/db]` or `rediss://`. */
  broker: string | URL;
  /** The queue's name: every `Queue` of that name and broker is the same queue. */
  name: string;
  /**
   * Most items the queue holds (0: no limit). Every user of the queue
   * should give the same bound; it is checked at each `put`.
   *
   * @default {0}
   */
  maxsize?: number;
  /**
   * Seconds to keep trying an unreachable broker before a call fails with
   * `BrokerError`.
   *
   * @default {10}
   */
  brokerTimeout?: number;
  /** TLS settings of a `rediss://` broker (certificates to trust). */
  tls?: TlsOptions;
}

/**
 * A FIFO queue held by a Redis broker, as Ray's `ray.util.queue.Queue`:
 * every program, worker host and task that makes a `Queue` with the same
 * broker and name uses the same queue; each item is delivered once.
 *
 * Unlike the core `Queue`, every method is async (each is a round trip to
 * the broker): `await q.qsize()`, `await q.putNowait(x)`. A `Queue` is
 * not passed to tasks as an argument: pass its broker and name and make
 * it there. Requires `--allow-net`.
 *
 * @typeParam T The items' type.
 *
 * @example A queue shared by name
 * ```ts ignore
 * import * as mp from "@seed/multiprocessing/cluster";
 *
 * await using q = new mp.Queue<number>({ broker: "redis://127.0.0.1:6379", name: "jobs", maxsize: 100 });
 * await q.put(1);
 * console.log(await q.get({ timeout: 5 })); // 1
 * ```
 */
export class Queue<T = unknown> {
  #broker: string;
  #timeout: number;
  #key: string;
  #maxsize: number;
  #tls: TlsOptions | undefined;
  #cmd: Promise<Broker> | null = null;
  #blocking: Promise<Broker> | null = null;
  #getChain: Promise<unknown> = Promise.resolve();
  #closed = false;

  /**
   * Names the queue; connects with the first call.
   *
   * @param options The broker, name and bound.
   * @throws {TypeError} When `broker` or `name` is malformed.
   * @throws {RangeError} When `maxsize` is not an integer >= 0.
   */
  constructor(options: ClusterQueueOptions) {
    const what = "make a broker queue";
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        `Cannot ${what}: pass { broker, name }, e.g. new Queue({ broker: "redis://127.0.0.1:6379", name: "jobs" })`,
      );
    }
    this.#broker = checkBrokerUrl(options.broker, what);
    this.#key = `mp:q:${checkName(options.name, what)}`;
    const maxsize = options.maxsize ?? 0;
    if (!Number.isInteger(maxsize) || maxsize < 0) {
      throw new RangeError(
        `Cannot ${what}: 'maxsize' must be an integer >= 0, got ${
          String(maxsize)
        }`,
      );
    }
    this.#maxsize = maxsize;
    this.#tls = options.tls;
    this.#timeout = checkSeconds(
      options.brokerTimeout ?? 10,
      "brokerTimeout",
      what,
      0.1,
    );
  }

  /** The bound given (0: none). */
  get maxsize(): number {
    return this.#maxsize;
  }

  #conn(): Promise<Broker> {
    if (this.#closed) {
      return Promise.reject(
        new Error("Cannot use the queue: it is closed; make a new Queue"),
      );
    }
    this.#cmd ??= Broker.connect(this.#broker, this.#timeout, this.#tls);
    return this.#cmd;
  }

  /**
   * Puts `item` at the end, waiting for room when the queue is full.
   *
   * @param item A structured-cloneable value.
   * @param options `block` (default true) and `timeout` in seconds.
   * @throws {Full} When the queue is full and `block` is false, or stays
   *   full for `timeout` seconds.
   * @throws {BrokerError} When the broker cannot be reached.
   */
  async put(item: T, options: PutOptions = {}): Promise<void> {
    const block = options.block ?? true;
    const deadline = block ? deadlineFrom(options.timeout, "put an item") : 0;
    const bytes = encode(item);
    const cmd = await this.#conn();
    if (this.#maxsize === 0) {
      await cmd.send(["RPUSH", this.#key, bytes]);
      return;
    }
    let pause = 1;
    for (;;) {
      const n = await cmd.send([
        "EVAL",
        PUT_BOUNDED,
        "1",
        this.#key,
        String(this.#maxsize),
        bytes,
      ]);
      if (Number(n) >= 0) return;
      const left = deadline - performance.now();
      if (!block || left <= 0) {
        throw new Full(
          `Cannot put an item: the queue is full (maxsize ${this.#maxsize})`,
        );
      }
      // Polling with a backoff: Redis has no "wait until a list is
      // shorter" command.
      await new Promise((r) => setTimeout(r, Math.min(pause, left)));
      pause = Math.min(pause * 2, 50);
    }
  }

  /**
   * Puts `item` only if there is room now.
   *
   * @param item A structured-cloneable value.
   * @throws {Full} When the queue is full.
   */
  putNowait(item: T): Promise<void> {
    return this.put(item, { block: false });
  }

  /**
   * Takes the first item, waiting for one when the queue is empty.
   *
   * @param options `block` (default true) and `timeout` in seconds.
   * @returns The item.
   * @throws {Empty} When the queue is empty and `block` is false, or stays
   *   empty for `timeout` seconds.
   * @throws {BrokerError} When the broker cannot be reached.
   */
  async get(options: GetOptions = {}): Promise<T> {
    const block = options.block ?? true;
    const deadline = block ? deadlineFrom(options.timeout, "get an item") : 0;
    const cmd = await this.#conn();
    if (!block) {
      const got = await cmd.sendRaw(["LPOP", this.#key]);
      if (got === null || got === undefined) {
        throw new Empty("Cannot get an item: the queue is empty");
      }
      return decode<T>(got as Uint8Array);
    }
    // A blocking pop holds its connection; this object's waiting gets
    // take turns on one connection of their own, in call order.
    const turn = this.#getChain.then(() => this.#blockingGet(deadline));
    this.#getChain = turn.catch(() => {});
    return await turn;
  }

  async #blockingGet(deadline: number): Promise<T> {
    this.#blocking ??= this.#conn().then((c) => c.duplicate());
    const conn = await this.#blocking;
    for (;;) {
      if (this.#closed) {
        throw new Error("Cannot get an item: the queue was closed");
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Empty(
          "Cannot get an item: the queue stayed empty until the timeout",
        );
      }
      // At most a second per wait, so close() ends a waiting get soon.
      const wait = Math.max(0.01, Math.min(1, left / 1000));
      const got = await conn.sendRaw([
        "BLPOP",
        this.#key,
        wait.toFixed(3),
      ]);
      if (Array.isArray(got)) return decode<T>(got[1] as Uint8Array);
    }
  }

  /**
   * Takes the first item only if there is one now.
   *
   * @returns The item.
   * @throws {Empty} When the queue is empty.
   */
  getNowait(): Promise<T> {
    return this.get({ block: false });
  }

  /**
   * The number of items in the queue now.
   *
   * @returns The count.
   */
  async qsize(): Promise<number> {
    return Number(await (await this.#conn()).send(["LLEN", this.#key]));
  }

  /**
   * Whether the queue is empty now.
   *
   * @returns `true` when it holds no item.
   */
  async empty(): Promise<boolean> {
    return (await this.qsize()) === 0;
  }

  /**
   * Whether the queue is full now (always `false` without `maxsize`).
   *
   * @returns `true` when it holds `maxsize` items.
   */
  async full(): Promise<boolean> {
    return this.#maxsize > 0 && (await this.qsize()) >= this.#maxsize;
  }

  /**
   * Closes this object's connections; the queue and its items stay on the
   * broker for other users. A waiting `get` ends within a second.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const conns = [this.#cmd, this.#blocking];
    await this.#getChain;
    for (const c of conns) {
      if (c === null) continue;
      try {
        await (await c).close();
      } catch {
        // Never connected.
      }
    }
  }

  /** Deletes the queue and its items from the broker. */
  async drop(): Promise<void> {
    await (await this.#conn()).send(["DEL", this.#key]);
  }

  /** Closes the connections (`await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
