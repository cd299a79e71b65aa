/**
 * The objects a manager's server holds (dict, list, Namespace, Value,
 * Array, locks, semaphores, Event, Condition, queues) and the allow-list
 * of methods a client may call on each.
 *
 * Every method runs to completion on the server's single thread before
 * the next request is looked at, so each call is atomic. Methods that
 * wait (a lock's `acquire`, a queue's `get` …) wait here, on the server,
 * as promises; the client's call is pending meanwhile. A waiter whose
 * connection drops is removed (its `signal` aborts), so a dead process
 * never takes an item or a lock; locks it held are released.
 *
 * @module
 */

import { Empty, Full, ValueError } from "../errors.ts";
import { type DictKey, encodeValue, Ref, type TypeId } from "./wire.ts";
import { type LongTimer, setLongTimeout } from "../_common/timer.ts";
import { type Negative, timeoutMs, waitOptions } from "../_common/check.ts";

/** Something a session holds that must be released when it ends. */
export interface Held {
  /** Releases whatever `session` holds of it. */
  releaseAll(session: Session): void;
}

/** One client connection, as the objects see it. */
export interface Session {
  /** A number unique on this server. */
  readonly id: number;
  /** Aborts when the connection ends. */
  readonly signal: AbortSignal;
  /** Locks this session holds. */
  readonly held: Set<Held>;
}

/** What a method gets besides its arguments. */
export interface CallContext {
  /** The calling connection. */
  session: Session;
  /** Looks up a managed object by id on this server. */
  lookup(id: number): object | undefined;
}

// deno-lint-ignore no-explicit-any
type Handler = (obj: any, args: unknown[], ctx: CallContext) => unknown;

// --- Waiting ------------------------------------------------------------

interface Waiter<T> {
  grant(value: T): void;
  data: unknown;
  session: Session;
}

type WaitResult<T> = { ok: true; value: T } | { ok: false };

/** A FIFO of pending waits, each with an optional timeout. */
class Waiters<T> {
  #q: Waiter<T>[] = [];

  get length(): number {
    return this.#q.length;
  }

  /**
   * Waits until granted, timed out (`timeout` seconds; `null` waits
   * forever) or the session ends.
   */
  wait(
    session: Session,
    timeout: number | null,
    data?: unknown,
  ): Promise<WaitResult<T>> {
    if (session.signal.aborted || (timeout !== null && timeout <= 0)) {
      return Promise.resolve({ ok: false });
    }
    return new Promise((resolve) => {
      let timer: LongTimer | undefined;
      const done = (r: WaitResult<T>) => {
        const i = this.#q.indexOf(w);
        if (i >= 0) this.#q.splice(i, 1);
        timer?.clear();
        session.signal.removeEventListener("abort", onAbort);
        resolve(r);
      };
      const onAbort = () => done({ ok: false });
      const w: Waiter<T> = {
        grant: (value) => done({ ok: true, value }),
        data,
        session,
      };
      this.#q.push(w);
      session.signal.addEventListener("abort", onAbort, { once: true });
      if (timeout !== null) {
        timer = setLongTimeout(() => done({ ok: false }), timeout * 1000);
      }
    });
  }

  /** The longest waiting waiter, if any (not removed). */
  first(): Waiter<T> | undefined {
    return this.#q[0];
  }

  /** Grants the first waiter; returns whether there was one. */
  grantFirst(value: T): boolean {
    const w = this.#q[0];
    if (w === undefined) return false;
    w.grant(value);
    return true;
  }

  /** Grants every waiter. */
  grantAll(value: T): void {
    for (const w of [...this.#q]) w.grant(value);
  }
}

// --- Argument checks ----------------------------------------------------

interface BlockOptions {
  block: boolean;
  timeout: number | null;
}

/**
 * Checks `{ block, timeout }` as Python's manager objects do. A negative
 * timeout is refused by default, as for a `Queue` (`queue.Queue`) and a
 * `Lock`; a `Semaphore` takes it as "don't wait" (`threading`). A timeout
 * with `block: false` is ignored by a `Queue` and refused by a `Lock` or
 * `Semaphore` ("can't specify a timeout for a non-blocking call").
 */
function blockOptions(
  x: unknown,
  action: string,
  negative: Negative = "reject",
  lockLike = false,
): BlockOptions {
  const { block } = waitOptions(x, action);
  const o = x as { timeout?: unknown } | undefined | null;
  if (!block) {
    if (lockLike && o?.timeout !== undefined && o?.timeout !== null) {
      throw new TypeError(
        `Cannot ${action}: a timeout cannot be given with { block: false }; drop one of them`,
      );
    }
    return { block, timeout: null };
  }
  return { block, timeout: timeoutArg(o?.timeout, action, negative) };
}

/** Seconds, or `null` for no limit (see {@linkcode timeoutMs}). */
function timeoutArg(
  t: unknown,
  action: string,
  negative: Negative = "reject",
): number | null {
  const ms = timeoutMs(t, action, negative);
  return ms === Infinity ? null : ms / 1000;
}

function intArg(x: unknown, what: string, action: string): number {
  if (typeof x !== "number" || !Number.isInteger(x)) {
    throw new TypeError(
      `Cannot ${action}: ${what} must be an integer, got '${String(x)}'`,
    );
  }
  return x;
}

function keyArg(k: unknown, action: string): DictKey {
  if (
    k === null || typeof k === "string" || typeof k === "number" ||
    typeof k === "bigint" || typeof k === "boolean"
  ) return k;
  throw new TypeError(
    `Cannot ${action}: a dict key must be a string, number, bigint, boolean or null, got ${
      k === undefined ? "undefined" : typeof k
    }`,
  );
}

function show(x: unknown): string {
  return typeof x === "bigint" ? `${x}n` : String(x);
}

const refAsData = {
  ref: (o: object) => o instanceof Ref ? o.data : undefined,
};

/** Python's `==` for stored values: same primitive, or equal structure. */
function equal(a: unknown, b: unknown): boolean {
  if (a === b || (Number.isNaN(a) && Number.isNaN(b))) return true;
  if (
    a === null || b === null || typeof a !== "object" || typeof b !== "object"
  ) return false;
  return JSON.stringify(encodeValue(a, refAsData)) ===
    JSON.stringify(encodeValue(b, refAsData));
}

function entriesOf(src: unknown, action: string): Iterable<[unknown, unknown]> {
  if (src instanceof Map) return src;
  if (Array.isArray(src)) {
    for (const e of src) {
      if (!Array.isArray(e) || e.length !== 2) {
        throw new TypeError(
          `Cannot ${action}: an array argument must hold [key, value] pairs`,
        );
      }
    }
    return src as [unknown, unknown][];
  }
  if (src !== null && typeof src === "object") {
    return Object.entries(src as Record<string, unknown>);
  }
  throw new TypeError(
    `Cannot ${action}: pass an object, a Map or an array of [key, value] pairs`,
  );
}

// --- dict ---------------------------------------------------------------

/** A managed dict: a `Map` with primitive keys. */
export class DictObj {
  readonly map: Map<DictKey, unknown> = new Map();
}

const dictMethods: Record<string, Handler> = {
  get(o: DictObj, [k, d]) {
    const key = keyArg(k, "get a value");
    return o.map.has(key) ? o.map.get(key) : d;
  },
  set(o: DictObj, [k, v]) {
    o.map.set(keyArg(k, "set a value"), v);
  },
  delete(o: DictObj, [k]) {
    return o.map.delete(keyArg(k, "delete a key"));
  },
  has(o: DictObj, [k]) {
    return o.map.has(keyArg(k, "look a key up"));
  },
  keys: (o: DictObj) => [...o.map.keys()],
  values: (o: DictObj) => [...o.map.values()],
  entries: (o: DictObj) => [...o.map.entries()],
  size: (o: DictObj) => o.map.size,
  clear(o: DictObj) {
    o.map.clear();
  },
  update(o: DictObj, [src]) {
    const pairs = [...entriesOf(src, "update the dict")];
    for (const [k] of pairs) keyArg(k, "update the dict");
    for (const [k, v] of pairs) o.map.set(k as DictKey, v);
  },
  setdefault(o: DictObj, [k, d]) {
    const key = keyArg(k, "set a default");
    if (!o.map.has(key)) o.map.set(key, d);
    return o.map.get(key);
  },
  pop(o: DictObj, args) {
    const key = keyArg(args[0], "pop a key");
    if (o.map.has(key)) {
      const v = o.map.get(key);
      o.map.delete(key);
      return v;
    }
    if (args.length >= 2) return args[1];
    throw new RangeError(
      `Cannot pop '${show(key)}': the key is not in the dict`,
    );
  },
  popitem(o: DictObj) {
    let last: [DictKey, unknown] | undefined;
    for (const e of o.map) last = e;
    if (last === undefined) {
      throw new RangeError("Cannot pop an item: the dict is empty");
    }
    o.map.delete(last[0]);
    return last;
  },
  toObject(o: DictObj) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of o.map) {
      Object.defineProperty(out, String(k), {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  },
  toMap: (o: DictObj) => new Map(o.map),
};

// --- list ---------------------------------------------------------------

/** A managed list. */
export class ListObj {
  items: unknown[] = [];
}

function indexArg(i: unknown, len: number, action: string): number {
  const n = intArg(i, "the index", action);
  const j = n < 0 ? n + len : n;
  if (j < 0 || j >= len) {
    throw new RangeError(
      `Cannot ${action} at index ${n}: the list has ${len} items`,
    );
  }
  return j;
}

function clampIndex(i: unknown, len: number, action: string): number {
  if (i === undefined || i === null) return len;
  const n = intArg(i, "the index", action);
  return n < 0 ? Math.max(0, n + len) : Math.min(n, len);
}

function compare(a: unknown, b: unknown): number {
  const ta = typeof a;
  const tb = typeof b;
  const num = (t: string) => t === "number" || t === "bigint";
  if ((num(ta) && num(tb)) || (ta === "string" && tb === "string")) {
    return (a as number) < (b as number)
      ? -1
      : (a as number) > (b as number)
      ? 1
      : 0;
  }
  throw new TypeError(
    `Cannot sort the list: cannot compare a ${ta} with a ${tb}`,
  );
}

const listMethods: Record<string, Handler> = {
  get(o: ListObj, [i]) {
    return o.items[indexArg(i, o.items.length, "get an item")];
  },
  set(o: ListObj, [i, v]) {
    o.items[indexArg(i, o.items.length, "set an item")] = v;
  },
  delete(o: ListObj, [i]) {
    o.items.splice(indexArg(i, o.items.length, "delete an item"), 1);
  },
  append(o: ListObj, [x]) {
    o.items.push(x);
  },
  extend(o: ListObj, [xs]) {
    if (!Array.isArray(xs) && !(xs instanceof Set)) {
      throw new TypeError("Cannot extend the list: pass an array or a Set");
    }
    for (const x of xs) o.items.push(x);
  },
  insert(o: ListObj, [i, x]) {
    o.items.splice(clampIndex(i, o.items.length, "insert"), 0, x);
  },
  pop(o: ListObj, [i]) {
    if (o.items.length === 0) {
      throw new RangeError("Cannot pop an item: the list is empty");
    }
    const j = i === undefined ? o.items.length - 1 : indexArg(
      i,
      o.items.length,
      "pop an item",
    );
    return o.items.splice(j, 1)[0];
  },
  remove(o: ListObj, [x]) {
    const j = o.items.findIndex((y) => equal(x, y));
    if (j < 0) {
      throw new ValueError(
        `Cannot remove '${show(x)}': the list does not hold it`,
      );
    }
    o.items.splice(j, 1);
  },
  index(o: ListObj, [x, start, stop]) {
    const len = o.items.length;
    const a = start === undefined ? 0 : clampIndex(start, len, "find an item");
    const b = stop === undefined ? len : clampIndex(stop, len, "find an item");
    for (let j = a; j < b; j++) if (equal(x, o.items[j])) return j;
    throw new ValueError(`Cannot find '${show(x)}': the list does not hold it`);
  },
  count(o: ListObj, [x]) {
    let n = 0;
    for (const y of o.items) if (equal(x, y)) n++;
    return n;
  },
  includes(o: ListObj, [x]) {
    return o.items.some((y) => equal(x, y));
  },
  slice(o: ListObj, [start, end]) {
    const s = start === undefined ? undefined : intArg(start, "start", "slice");
    const e = end === undefined ? undefined : intArg(end, "end", "slice");
    return o.items.slice(s, e);
  },
  length: (o: ListObj) => o.items.length,
  clear(o: ListObj) {
    o.items = [];
  },
  reverse(o: ListObj) {
    o.items.reverse();
  },
  sort(o: ListObj, [opts]) {
    const reverse = (opts as { reverse?: unknown } | undefined)?.reverse ===
      true;
    const sorted = [...o.items].sort(compare);
    o.items = reverse ? sorted.reverse() : sorted;
  },
  toArray: (o: ListObj) => [...o.items],
};

// --- Namespace ----------------------------------------------------------

/** A managed namespace: named attributes. */
export class NamespaceObj {
  readonly attrs: Map<string, unknown> = new Map();
}

function nameArg(n: unknown, action: string): string {
  if (typeof n !== "string") {
    throw new TypeError(`Cannot ${action}: the name must be a string`);
  }
  return n;
}

const namespaceMethods: Record<string, Handler> = {
  get(o: NamespaceObj, [n]) {
    return o.attrs.get(nameArg(n, "get an attribute"));
  },
  set(o: NamespaceObj, [n, v]) {
    o.attrs.set(nameArg(n, "set an attribute"), v);
  },
  delete(o: NamespaceObj, [n]) {
    return o.attrs.delete(nameArg(n, "delete an attribute"));
  },
  has(o: NamespaceObj, [n]) {
    return o.attrs.has(nameArg(n, "look an attribute up"));
  },
  keys: (o: NamespaceObj) => [...o.attrs.keys()],
  update(o: NamespaceObj, [src]) {
    const pairs = [...entriesOf(src, "update the namespace")];
    for (const [k] of pairs) nameArg(k, "update the namespace");
    for (const [k, v] of pairs) o.attrs.set(k as string, v);
  },
  toObject(o: NamespaceObj) {
    return dictMethods.toObject({ map: o.attrs }, [], undefined as never);
  },
};

// --- Value and Array ----------------------------------------------------

const TYPECODES = new Set("bBhHiIlLqQfdcu".split(""));

function typecodeArg(t: unknown, action: string): string {
  if (typeof t !== "string" || !TYPECODES.has(t)) {
    throw new TypeError(
      `Cannot ${action}: unknown typecode '${
        String(t)
      }'; use one of b B h H i I l L q Q f d c u`,
    );
  }
  return t;
}

/** A managed value. */
export class ValueObj {
  /** @param typecode Its type code. @param value Its value. */
  constructor(readonly typecode: string, public value: unknown) {}
}

const valueMethods: Record<string, Handler> = {
  get: (o: ValueObj) => o.value,
  set(o: ValueObj, [v]) {
    o.value = v;
  },
  typecode: (o: ValueObj) => o.typecode,
};

/** A managed fixed-length array. */
export class ArrayObj {
  /** @param typecode Its type code. @param items Its items. */
  constructor(readonly typecode: string, readonly items: unknown[]) {}
}

const arrayMethods: Record<string, Handler> = {
  get(o: ArrayObj, [i]) {
    return o.items[indexArg(i, o.items.length, "get an item")];
  },
  set(o: ArrayObj, [i, v]) {
    o.items[indexArg(i, o.items.length, "set an item")] = v;
  },
  length: (o: ArrayObj) => o.items.length,
  slice: (o: ArrayObj, args) => listMethods.slice(o, args, undefined as never),
  toArray: (o: ArrayObj) => [...o.items],
  typecode: (o: ArrayObj) => o.typecode,
};

// --- Locks and semaphores -----------------------------------------------

/** A managed `Lock` or `RLock`. The owner is a session (a process). */
export class LockObj implements Held {
  owner: Session | null = null;
  count = 0;
  readonly waiters: Waiters<void> = new Waiters();

  /** @param reentrant Whether it is an `RLock`. */
  constructor(readonly reentrant: boolean) {}

  get name(): string {
    return this.reentrant ? "rlock" : "lock";
  }

  #take(session: Session): void {
    this.owner = session;
    this.count = 1;
    session.held.add(this);
  }

  /** Acquires for `session`; resolves whether it got the lock. */
  async acquire(session: Session, opts: BlockOptions): Promise<boolean> {
    if (this.owner === null) {
      this.#take(session);
      return true;
    }
    if (this.reentrant && this.owner === session) {
      this.count++;
      return true;
    }
    if (!opts.block) return false;
    // The releaser hands the lock straight to us (see #handOff).
    const r = await this.waiters.wait(session, opts.timeout);
    return r.ok;
  }

  /** Releases one level; `session` must own it if it is an `RLock`. */
  release(session: Session): void {
    if (this.owner === null) {
      throw new ValueError(`Cannot release the ${this.name}: it is not locked`);
    }
    if (this.reentrant && this.owner !== session) {
      throw new ValueError(
        "Cannot release the rlock: this process does not hold it",
      );
    }
    if (--this.count === 0) this.handOff();
  }

  /** Gives the lock to the longest waiter, or unlocks it. */
  handOff(): void {
    this.owner?.held.delete(this);
    this.owner = null;
    this.count = 0;
    const w = this.waiters.first();
    if (w !== undefined) {
      this.#take(w.session);
      w.grant();
    }
  }

  /** Frees the lock if `session` (which ended) held it. */
  releaseAll(session: Session): void {
    if (this.owner === session) this.handOff();
  }
}

const lockMethods: Record<string, Handler> = {
  acquire: (o: LockObj, [opts], ctx) =>
    o.acquire(
      ctx.session,
      blockOptions(opts, `acquire the ${o.name}`, "reject", true),
    ),
  release(o: LockObj, _args, ctx) {
    o.release(ctx.session);
  },
  locked: (o: LockObj) => o.owner !== null,
};

/** A managed `Semaphore` or `BoundedSemaphore`. */
export class SemaphoreObj {
  readonly waiters: Waiters<void> = new Waiters();
  /**
   * @param value The counter.
   * @param bound The upper bound (`BoundedSemaphore`), or `null`.
   */
  constructor(public value: number, readonly bound: number | null) {}
}

const semaphoreMethods: Record<string, Handler> = {
  async acquire(o: SemaphoreObj, [opts], ctx) {
    const { block, timeout } = blockOptions(
      opts,
      "acquire the semaphore",
      "zero",
      true,
    );
    if (o.value > 0) {
      o.value--;
      return true;
    }
    if (!block) return false;
    return (await o.waiters.wait(ctx.session, timeout)).ok;
  },
  release(o: SemaphoreObj, [n]) {
    const k = n === undefined ? 1 : intArg(n, "n", "release the semaphore");
    if (k < 1) {
      throw new RangeError("Cannot release the semaphore: n must be >= 1");
    }
    if (o.bound !== null && o.value + k > o.bound) {
      throw new ValueError(
        "Cannot release the semaphore: it would go above its initial value",
      );
    }
    for (let i = 0; i < k; i++) {
      // A waiter takes the unit directly, so the counter stays as it is.
      if (!o.waiters.grantFirst()) o.value++;
    }
  },
  getValue: (o: SemaphoreObj) => o.value,
};

// --- Event and Condition ------------------------------------------------

/** A managed `Event`. */
export class EventObj {
  flag = false;
  readonly waiters: Waiters<void> = new Waiters();
}

const eventMethods: Record<string, Handler> = {
  set(o: EventObj) {
    o.flag = true;
    o.waiters.grantAll();
  },
  clear(o: EventObj) {
    o.flag = false;
  },
  isSet: (o: EventObj) => o.flag,
  async wait(o: EventObj, [t], ctx) {
    if (o.flag) return true;
    const timeout = timeoutArg(t, "wait for the event", "zero");
    return (await o.waiters.wait(ctx.session, timeout)).ok || o.flag;
  },
};

/** A managed `Condition` over a managed lock. */
export class ConditionObj {
  readonly waiters: Waiters<void> = new Waiters();
  /** @param lock Its lock. */
  constructor(readonly lock: LockObj) {}
}

function checkOwned(o: ConditionObj, session: Session, action: string): void {
  if (o.lock.owner !== session) {
    throw new ValueError(
      `Cannot ${action}: this process does not hold the condition's lock`,
    );
  }
}

const conditionMethods: Record<string, Handler> = {
  // A condition's acquire and release act on its lock.
  acquire: (o: ConditionObj, args, ctx) =>
    lockMethods.acquire(o.lock, args, ctx),
  release(o: ConditionObj, _args, ctx) {
    o.lock.release(ctx.session);
  },
  async wait(o: ConditionObj, [t], ctx) {
    const timeout = timeoutArg(t, "wait on the condition", "zero");
    checkOwned(o, ctx.session, "wait on the condition");
    const saved = o.lock.count;
    o.lock.handOff();
    const r = await o.waiters.wait(ctx.session, timeout);
    if (ctx.session.signal.aborted) return false;
    await o.lock.acquire(ctx.session, { block: true, timeout: null });
    o.lock.count = saved;
    return r.ok;
  },
  notify(o: ConditionObj, [n], ctx) {
    checkOwned(o, ctx.session, "notify");
    const k = n === undefined ? 1 : intArg(n, "n", "notify");
    for (let i = 0; i < k; i++) if (!o.waiters.grantFirst()) break;
  },
  notifyAll(o: ConditionObj, _args, ctx) {
    checkOwned(o, ctx.session, "notify");
    o.waiters.grantAll();
  },
};

// --- Queues -------------------------------------------------------------

/** A managed `Queue` or `JoinableQueue`. */
export class QueueObj {
  items: unknown[] = [];
  head = 0;
  unfinished = 0;
  readonly getters: Waiters<unknown> = new Waiters();
  readonly putters: Waiters<void> = new Waiters();
  readonly joiners: Waiters<void> = new Waiters();
  /**
   * @param maxsize The most items it holds (`<= 0`: unbounded).
   * @param joinable Whether it is a `JoinableQueue`.
   */
  constructor(readonly maxsize: number, readonly joinable: boolean) {}

  get size(): number {
    return this.items.length - this.head;
  }

  get isFull(): boolean {
    return this.maxsize > 0 && this.size >= this.maxsize;
  }

  push(item: unknown): void {
    this.items.push(item);
    this.unfinished++;
  }

  shift(): unknown {
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    // Compact now and then so the array does not grow forever.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

async function queuePut(
  o: QueueObj,
  item: unknown,
  opts: BlockOptions,
  session: Session,
): Promise<void> {
  const getter = o.getters.first();
  if (getter !== undefined) {
    // Someone waits on an empty queue: hand the item over directly.
    o.unfinished++;
    getter.grant(item);
    return;
  }
  if (!o.isFull) {
    o.push(item);
    return;
  }
  if (!opts.block) throw new Full("Cannot put an item: the queue is full");
  // The getter that makes room pushes our item for us (see queueGet).
  const r = await o.putters.wait(session, opts.timeout, { item });
  if (!r.ok) {
    throw new Full(
      `Cannot put an item: the queue stayed full for ${opts.timeout}s`,
    );
  }
}

async function queueGet(
  o: QueueObj,
  opts: BlockOptions,
  session: Session,
): Promise<unknown> {
  if (o.size > 0) {
    const item = o.shift();
    const putter = o.putters.first();
    if (putter !== undefined) {
      o.push((putter.data as { item: unknown }).item);
      putter.grant();
    }
    return item;
  }
  if (!opts.block) throw new Empty("Cannot get an item: the queue is empty");
  const r = await o.getters.wait(session, opts.timeout);
  if (!r.ok) {
    throw new Empty(
      `Cannot get an item: the queue stayed empty for ${opts.timeout}s`,
    );
  }
  return r.value;
}

const queueMethods: Record<string, Handler> = {
  put: (o: QueueObj, [item, opts], ctx) =>
    queuePut(o, item, blockOptions(opts, "put an item"), ctx.session),
  get: (o: QueueObj, [opts], ctx) =>
    queueGet(o, blockOptions(opts, "get an item"), ctx.session),
  putNowait: (o: QueueObj, [item], ctx) =>
    queuePut(o, item, { block: false, timeout: null }, ctx.session),
  getNowait: (o: QueueObj, _args, ctx) =>
    queueGet(o, { block: false, timeout: null }, ctx.session),
  qsize: (o: QueueObj) => o.size,
  empty: (o: QueueObj) => o.size === 0,
  full: (o: QueueObj) => o.isFull,
};

const joinableQueueMethods: Record<string, Handler> = {
  ...queueMethods,
  taskDone(o: QueueObj) {
    if (o.unfinished <= 0) {
      throw new ValueError(
        "Cannot call taskDone(): it was called more times than items were put",
      );
    }
    if (--o.unfinished === 0) o.joiners.grantAll();
  },
  async join(o: QueueObj, _args, ctx) {
    if (o.unfinished === 0) return;
    await o.joiners.wait(ctx.session, null);
  },
};

// --- Construction -------------------------------------------------------

function toMap(table: Record<string, Handler>): ReadonlyMap<string, Handler> {
  return new Map(Object.entries(table));
}

/** The allow-list: the methods a client may call, per type. */
export const METHODS: Readonly<Record<TypeId, ReadonlyMap<string, Handler>>> = {
  dict: toMap(dictMethods),
  list: toMap(listMethods),
  Namespace: toMap(namespaceMethods),
  Value: toMap(valueMethods),
  Array: toMap(arrayMethods),
  Lock: toMap(lockMethods),
  RLock: toMap(lockMethods),
  Semaphore: toMap(semaphoreMethods),
  BoundedSemaphore: toMap(semaphoreMethods),
  Event: toMap(eventMethods),
  Condition: toMap(conditionMethods),
  Queue: toMap(queueMethods),
  JoinableQueue: toMap(joinableQueueMethods),
};

function semaphoreValue(v: unknown): number {
  const n = v === undefined ? 1 : intArg(v, "value", "make a semaphore");
  if (n < 0) {
    throw new RangeError("Cannot make a semaphore: the value must be >= 0");
  }
  return n;
}

function maxsizeArg(v: unknown): number {
  return v === undefined ? 0 : intArg(v, "maxsize", "make a queue");
}

/**
 * Makes a managed object of `typeid` from the arguments of `m.<typeid>()`.
 *
 * @param typeid What to make.
 * @param args The constructor arguments, as sent.
 * @param ctx The call's context (to find a Condition's lock).
 * @returns The new object.
 * @throws {TypeError|RangeError} On bad arguments.
 */
export function createObject(
  typeid: TypeId,
  args: unknown[],
  ctx: CallContext,
): object {
  switch (typeid) {
    case "dict": {
      const o = new DictObj();
      if (args[0] !== undefined) dictMethods.update(o, [args[0]], ctx);
      return o;
    }
    case "list": {
      const o = new ListObj();
      if (args[0] !== undefined) listMethods.extend(o, [args[0]], ctx);
      return o;
    }
    case "Namespace": {
      const o = new NamespaceObj();
      if (args[0] !== undefined) namespaceMethods.update(o, [args[0]], ctx);
      return o;
    }
    case "Value":
      return new ValueObj(typecodeArg(args[0], "make a Value"), args[1]);
    case "Array": {
      const t = typecodeArg(args[0], "make an Array");
      const init = args[1];
      if (typeof init === "number") {
        if (!Number.isInteger(init) || init < 0) {
          throw new RangeError(
            "Cannot make an Array: the size must be an integer >= 0",
          );
        }
        const zero = t === "q" || t === "Q"
          ? 0n
          : t === "c" || t === "u"
          ? ""
          : 0;
        return new ArrayObj(t, new Array(init).fill(zero));
      }
      if (!Array.isArray(init)) {
        throw new TypeError(
          "Cannot make an Array: pass a size or an array of initial items",
        );
      }
      return new ArrayObj(t, [...init]);
    }
    case "Lock":
      return new LockObj(false);
    case "RLock":
      return new LockObj(true);
    case "Semaphore":
      return new SemaphoreObj(semaphoreValue(args[0]), null);
    case "BoundedSemaphore": {
      const v = semaphoreValue(args[0]);
      return new SemaphoreObj(v, v);
    }
    case "Event":
      return new EventObj();
    case "Condition": {
      const arg = args[0];
      if (arg === undefined || arg === null) {
        return new ConditionObj(new LockObj(true));
      }
      const lock = arg instanceof Ref && arg.data.address === undefined
        ? ctx.lookup(arg.data.id)
        : undefined;
      if (!(lock instanceof LockObj)) {
        throw new TypeError(
          "Cannot make a Condition: its lock must be a Lock or RLock of the same manager",
        );
      }
      return new ConditionObj(lock);
    }
    case "Queue":
      return new QueueObj(maxsizeArg(args[0]), false);
    case "JoinableQueue":
      return new QueueObj(maxsizeArg(args[0]), true);
  }
}
