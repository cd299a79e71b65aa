/**
 * Managers: objects held by a server and used from any process through
 * proxies, as Python's `multiprocessing.Manager()` and `BaseManager`.
 *
 * - {@linkcode Manager} starts a server for this program (on loopback,
 *   with a random authkey) and returns a {@linkcode SyncManager} that
 *   makes managed objects: `dict`, `list`, `Namespace`, `Value`, `Array`,
 *   `Lock`, `RLock`, `Semaphore`, `BoundedSemaphore`, `Event`,
 *   `Condition`, `Queue`, `JoinableQueue`.
 * - {@linkcode serveManager} does the same at an address of your choice
 *   and with your authkey, and {@linkcode connectManager} connects to it
 *   from another OS process (on this machine or another); objects are
 *   published by name with {@linkcode SyncManager.register} and found
 *   with {@linkcode SyncManager.get}.
 *
 * Every method of a proxy is async and runs atomically on the server.
 * Proxies can be passed to `Process` and `Pool` tasks (also nested in
 * arrays and objects), stored inside other managed objects, and returned
 * from tasks; they arrive working.
 *
 * How it works: the server runs in an OS process of its own, as Python's
 * "manager process" (in a worker thread when this program may not run
 * `deno`), so a busy or blocked main thread (`joinSync`, a CPU loop)
 * never stalls the processes that use the manager, and a server that runs
 * out of memory ends alone: its proxies then reject with `EOFError`. Every process
 * talks to it over TCP: one connection per process per server, shared by
 * all proxies and made on first use. Each connection proves it knows the
 * authkey (HMAC-SHA256 over random nonces, both ways) before anything
 * else. Values cross as JSON with tags for `undefined`, `bigint`, `Date`,
 * `Map`, `Set`, typed arrays, errors and proxies; nothing from the wire
 * is run as code, and only the listed methods of each type can be called.
 * Managed objects live until the manager shuts down.
 *
 * Requires `--allow-net` (the server listens on TCP; clients connect),
 * and `--allow-read` for the library's modules. With `--allow-run` (for
 * `deno`) the server is a process of its own; without, a thread.
 *
 * @example Ten processes write into a managed dict
 * ```ts ignore
 * import * as mp from "@seed/multiprocessing";
 *
 * export async function fill(d: mp.DictProxy<number, number>, i: number) {
 *   await d.set(i, 100);
 * }
 *
 * if (import.meta.main) {
 *   await using m = await mp.Manager();
 *   const d = await m.dict<number, number>();
 *   const ps = Array.from({ length: 10 }, (_, i) =>
 *     new mp.Process({ target: fill, args: [d, i] }));
 *   ps.forEach((p) => p.start());
 *   for (const p of ps) await p.join();
 *   console.log(await d.toObject()); // { "0": 100, …, "9": 100 }
 * }
 * ```
 *
 * @module
 */

import {
  authkeyBytes,
  DEFAULT_MAX_FRAME,
  fromBase64,
  SERVER_OBJECT,
  type TypeId,
  TYPEIDS,
} from "./_manager/wire.ts";
import {
  call,
  disconnect,
  ensureConnected,
  ServerId,
  setProxyHooks,
  watchServer,
} from "./_manager/client.ts";
import { ServerThread } from "./_manager/thread.ts";
import { canStartServerProcess, ServerProcess } from "./_manager/child.ts";
import {
  checkResourceLimits,
  type ResourceLimits,
} from "./_launch/worker_spawn.ts";
import { checkNotBootstrapping } from "./_common/self.ts";
import type { DictKey as ServerDictKey } from "./_manager/objects.ts";
import { kShare, registerShareable } from "./_common/transfer.ts";

/** A manager's TCP address: `[hostname, port]`. */
export type ManagerAddress = [hostname: string, port: number];

/** The keys a managed dict takes (compared by value, as in a `Map`). */
export type DictKey = ServerDictKey;

/** Options of {@linkcode Manager}. */
export interface ManagerOptions {
  /**
   * Where the server listens. Port `0` picks a free port; read it from
   * {@linkcode SyncManager.address}.
   *
   * @default {["127.0.0.1", 0]}
   */
  address?: ManagerAddress;
  /**
   * The shared secret every connection must prove it knows.
   *
   * @default {32 random bytes}
   */
  authkey?: string | Uint8Array;
  /**
   * The largest message a client may send, in bytes. A client that sends
   * a larger one is disconnected; a proxy refuses to send one.
   *
   * @default {67108864 (64 MiB)}
   */
  maxFrameSize?: number;
  /**
   * Memory limits of the server's process, in MiB (only
   * `maxOldGenerationSizeMb` applies). A server that runs out of memory
   * ends alone, not the program: every proxy call then rejects with an
   * `EOFError` saying the manager died and why.
   *
   * @default {V8's default heap limit}
   */
  resourceLimits?: ResourceLimits;
}

/** Options of {@linkcode serveManager}. */
export interface ServeManagerOptions extends ManagerOptions {
  /**
   * The shared secret: give the same to {@linkcode connectManager}.
   * Anyone who knows it can use every object of the manager.
   */
  authkey: string | Uint8Array;
}

/** Options of {@linkcode connectManager}. */
export interface ConnectManagerOptions {
  /** The server's address, as given to (or read from) `serveManager`. */
  address: ManagerAddress;
  /** The server's authkey. */
  authkey: string | Uint8Array;
}

/** Options of blocking proxy calls, as Python's `block` and `timeout`. */
export interface ProxyBlockOptions {
  /**
   * Whether to wait. With `false`, a lock's `acquire` returns `false` and
   * a queue's `get`/`put` rejects with `Empty`/`Full` at once.
   *
   * @default {true}
   */
  block?: boolean;
  /**
   * The most seconds to wait (on the server); `undefined` waits forever.
   *
   * @default {undefined}
   */
  timeout?: number;
}

const PROXY_TAG = "mp.ManagerProxy";

interface ProxyState {
  server: ServerId;
  id: number;
  typeid: TypeId;
}

const proxyInits = new WeakSet<object>();

function makeProxy(server: ServerId, id: number, typeid: TypeId): BaseProxy {
  const init: ProxyState = { server, id, typeid };
  proxyInits.add(init);
  switch (typeid) {
    case "dict":
      return new DictProxy(init);
    case "list":
      return new ListProxy(init);
    case "Namespace":
      return new NamespaceProxy(init);
    case "Value":
      return new ValueProxy(init);
    case "Array":
      return new ArrayProxy(init);
    case "Lock":
    case "RLock":
      return new LockProxy(init);
    case "Semaphore":
    case "BoundedSemaphore":
      return new SemaphoreProxy(init);
    case "Event":
      return new EventProxy(init);
    case "Condition":
      return new ConditionProxy(init);
    case "Queue":
      return new QueueProxy(init);
    case "JoinableQueue":
      return new JoinableQueueProxy(init);
  }
}

let stateOf: (p: BaseProxy) => ProxyState;

/**
 * What every manager proxy shares: its identity and how it crosses to
 * another process. Get proxies from a {@linkcode SyncManager}; they cannot
 * be made with `new`.
 *
 * @example Check what a value is
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 * await using m = await mp.Manager();
 * const d = await m.dict();
 * console.log(d instanceof mp.BaseProxy, d.typeid); // true "dict"
 * ```
 */
export abstract class BaseProxy {
  #state: ProxyState;

  static {
    stateOf = (p) => p.#state;
  }

  /**
   * Not for users: proxies come from a manager.
   *
   * @param init The proxy's identity (internal).
   * @throws {TypeError} When called directly.
   */
  constructor(init: unknown) {
    if (typeof init !== "object" || init === null || !proxyInits.has(init)) {
      throw new TypeError(
        "Cannot make a proxy with new: get one from a manager (await m.dict() …)",
      );
    }
    this.#state = init as ProxyState;
  }

  /** The managed object's type (`"dict"`, `"Lock"` …). */
  get typeid(): string {
    return this.#state.typeid;
  }

  /** The managed object's id on its server. */
  get objectId(): number {
    return this.#state.id;
  }

  /** The address of the manager that holds the object. */
  get address(): ManagerAddress {
    const [h, p] = this.#state.server.address;
    return [h, p];
  }

  /**
   * Describes the proxy for another process (see `_common/transfer.ts`): the
   * server's address and authkey, and the object's id and type.
   *
   * @returns The descriptor.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    const s = this.#state;
    return {
      tag: PROXY_TAG,
      id: `${s.server.key}/${s.id}`,
      data: {
        address: s.server.address,
        authkey: s.server.authkeyText,
        objectId: s.id,
        typeid: s.typeid,
      },
    };
  }

  /**
   * A short description, such as `DictProxy(127.0.0.1:40123, id 3)`.
   *
   * @returns The description.
   */
  toString(): string {
    return `${this.constructor.name}(${this.#state.server.where}, id ${this.#state.id})`;
  }
}

function invoke(p: BaseProxy, m: string, args: unknown[]): Promise<unknown> {
  const s = stateOf(p);
  return call(s.server, s.id, m, args, `call '${m}' on a managed ${s.typeid}`);
}

setProxyHooks({
  refOf(value) {
    if (!(value instanceof BaseProxy)) return undefined;
    return stateOf(value);
  },
  make: makeProxy,
});

registerShareable(PROXY_TAG, (data) => {
  const d = data as {
    address?: unknown;
    authkey?: unknown;
    objectId?: unknown;
    typeid?: unknown;
  };
  const a = d.address as unknown[];
  if (
    !Array.isArray(a) || typeof a[0] !== "string" ||
    !Number.isInteger(a[1]) || typeof d.authkey !== "string" ||
    !Number.isSafeInteger(d.objectId) ||
    !(TYPEIDS as readonly string[]).includes(d.typeid as string)
  ) {
    throw new TypeError("Cannot receive a manager proxy: its data is invalid");
  }
  const server = ServerId.of(
    [a[0], a[1] as number],
    fromBase64(d.authkey),
  );
  return makeProxy(server, d.objectId as number, d.typeid as TypeId);
});

// --- dict ---------------------------------------------------------------

/**
 * A proxy for a managed dict: a `Map` (and Python `dict`) held by the
 * manager. Keys are strings, numbers, bigints, booleans or `null`
 * (`1` and `"1"` are different keys, as in Python). Iterating it
 * (`for await`) yields `[key, value]` pairs of a snapshot, as a `Map`.
 *
 * @typeParam K The key type.
 * @typeParam V The value type.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 * await using m = await mp.Manager();
 * const d = await m.dict<string, number>({ a: 1 });
 * await d.set("b", 2);
 * console.log(await d.get("a"), await d.size()); // 1 2
 * for await (const [k, v] of d) console.log(k, v);
 * ```
 */
export class DictProxy<K extends DictKey = DictKey, V = unknown>
  extends BaseProxy {
  /**
   * The value for `key`, or `fallback` when it is missing.
   *
   * @param key The key.
   * @param fallback What to return when `key` is missing.
   * @returns The value.
   * @throws {TypeError} When `key` is not a valid dict key.
   * @throws {EOFError} When the manager is gone (as every method here).
   */
  get(key: K, fallback?: V): Promise<V | undefined> {
    return invoke(this, "get", [key, fallback]) as Promise<V | undefined>;
  }

  /**
   * Sets `key` to `value`.
   *
   * @param key The key.
   * @param value The value (data or proxies).
   * @returns When the value is stored.
   * @throws {TypeError} When `value` cannot cross (a function, a class
   * instance …).
   */
  set(key: K, value: V): Promise<void> {
    return invoke(this, "set", [key, value]) as Promise<void>;
  }

  /**
   * Removes `key`.
   *
   * @param key The key.
   * @returns Whether it was there.
   */
  delete(key: K): Promise<boolean> {
    return invoke(this, "delete", [key]) as Promise<boolean>;
  }

  /**
   * Whether `key` is in the dict (Python's `key in d`).
   *
   * @param key The key.
   * @returns Whether it is there.
   */
  has(key: K): Promise<boolean> {
    return invoke(this, "has", [key]) as Promise<boolean>;
  }

  /**
   * The keys, in insertion order.
   *
   * @returns A snapshot of the keys.
   */
  keys(): Promise<K[]> {
    return invoke(this, "keys", []) as Promise<K[]>;
  }

  /**
   * The values, in insertion order.
   *
   * @returns A snapshot of the values.
   */
  values(): Promise<V[]> {
    return invoke(this, "values", []) as Promise<V[]>;
  }

  /**
   * The `[key, value]` pairs, in insertion order.
   *
   * @returns A snapshot of the pairs.
   */
  entries(): Promise<[K, V][]> {
    return invoke(this, "entries", []) as Promise<[K, V][]>;
  }

  /**
   * Python's name for {@linkcode DictProxy.entries}.
   *
   * @returns A snapshot of the pairs.
   */
  items(): Promise<[K, V][]> {
    return this.entries();
  }

  /**
   * The number of keys (Python's `len(d)`).
   *
   * @returns The size.
   */
  size(): Promise<number> {
    return invoke(this, "size", []) as Promise<number>;
  }

  /**
   * Removes every key.
   *
   * @returns When done.
   */
  clear(): Promise<void> {
    return invoke(this, "clear", []) as Promise<void>;
  }

  /**
   * Sets every pair of `other`, in one atomic call.
   *
   * @param other An object, a `Map` or `[key, value]` pairs.
   * @returns When done.
   * @throws {TypeError} When `other` is none of those, or a key is invalid.
   */
  update(
    other: Record<string, V> | Map<K, V> | Iterable<readonly [K, V]>,
  ): Promise<void> {
    const src = other instanceof Map || Array.isArray(other)
      ? other
      : Symbol.iterator in Object(other)
      ? [...(other as Iterable<readonly [K, V]>)]
      : other;
    return invoke(this, "update", [src]) as Promise<void>;
  }

  /**
   * Returns the value of `key`, first setting it to `fallback` if missing.
   *
   * @param key The key.
   * @param fallback The value to set when `key` is missing.
   * @returns The value now stored.
   */
  setdefault(key: K, fallback: V): Promise<V> {
    return invoke(this, "setdefault", [key, fallback]) as Promise<V>;
  }

  /**
   * Removes `key` and returns its value; with no `fallback`, a missing
   * key is an error (Python's `KeyError`).
   *
   * @param key The key.
   * @param fallback What to return when `key` is missing.
   * @returns The removed value, or `fallback`.
   * @throws {RangeError} When `key` is missing and no fallback is given.
   */
  pop(key: K, ...fallback: [fallback?: V]): Promise<V> {
    return invoke(this, "pop", [key, ...fallback]) as Promise<V>;
  }

  /**
   * Removes and returns the last inserted pair.
   *
   * @returns The pair.
   * @throws {RangeError} When the dict is empty.
   */
  popitem(): Promise<[K, V]> {
    return invoke(this, "popitem", []) as Promise<[K, V]>;
  }

  /**
   * A plain-object copy (keys become strings).
   *
   * @returns The copy.
   */
  toObject(): Promise<Record<string, V>> {
    return invoke(this, "toObject", []) as Promise<Record<string, V>>;
  }

  /**
   * A `Map` copy (keys keep their types).
   *
   * @returns The copy.
   */
  toMap(): Promise<Map<K, V>> {
    return invoke(this, "toMap", []) as Promise<Map<K, V>>;
  }

  /**
   * Iterates a snapshot of the `[key, value]` pairs (taken in one call).
   *
   * @returns An async iterator of pairs.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<[K, V]> {
    yield* await this.entries();
  }
}

// --- list ---------------------------------------------------------------

/**
 * A proxy for a managed list (Python's `list`, a JS array). Indexes may
 * be negative, counting from the end, as in Python. Equality (for
 * `index`, `count`, `remove`, `includes`) compares values, not identity.
 *
 * @typeParam T The item type.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 * await using m = await mp.Manager();
 * const l = await m.list<number>([1, 2]);
 * await l.append(3);
 * console.log(await l.get(-1), await l.length()); // 3 3
 * console.log(await l.toArray()); // [1, 2, 3]
 * ```
 */
export class ListProxy<T = unknown> extends BaseProxy {
  /**
   * The item at `index`.
   *
   * @param index The index (negative counts from the end).
   * @returns The item.
   * @throws {RangeError} When `index` is out of range.
   * @throws {EOFError} When the manager is gone (as every method here).
   */
  get(index: number): Promise<T> {
    return invoke(this, "get", [index]) as Promise<T>;
  }

  /**
   * Replaces the item at `index`.
   *
   * @param index The index (negative counts from the end).
   * @param value The new item.
   * @returns When done.
   * @throws {RangeError} When `index` is out of range.
   */
  set(index: number, value: T): Promise<void> {
    return invoke(this, "set", [index, value]) as Promise<void>;
  }

  /**
   * Removes the item at `index` (Python's `del l[i]`).
   *
   * @param index The index (negative counts from the end).
   * @returns When done.
   * @throws {RangeError} When `index` is out of range.
   */
  delete(index: number): Promise<void> {
    return invoke(this, "delete", [index]) as Promise<void>;
  }

  /**
   * Adds `item` at the end.
   *
   * @param item The item.
   * @returns When done.
   */
  append(item: T): Promise<void> {
    return invoke(this, "append", [item]) as Promise<void>;
  }

  /**
   * Adds every item of `items` at the end, in one atomic call.
   *
   * @param items The items.
   * @returns When done.
   */
  extend(items: Iterable<T>): Promise<void> {
    return invoke(this, "extend", [[...items]]) as Promise<void>;
  }

  /**
   * Inserts `item` before `index` (clamped to the list, as in Python).
   *
   * @param index Where to insert.
   * @param item The item.
   * @returns When done.
   */
  insert(index: number, item: T): Promise<void> {
    return invoke(this, "insert", [index, item]) as Promise<void>;
  }

  /**
   * Removes and returns the item at `index` (the last by default).
   *
   * @param index The index.
   * @returns The item.
   * @throws {RangeError} When the list is empty or `index` out of range.
   */
  pop(index?: number): Promise<T> {
    return invoke(this, "pop", [index]) as Promise<T>;
  }

  /**
   * Removes the first item equal to `item`.
   *
   * @param item The item.
   * @returns When done.
   * @throws {ValueError} When no item equals it.
   */
  remove(item: T): Promise<void> {
    return invoke(this, "remove", [item]) as Promise<void>;
  }

  /**
   * The index of the first item equal to `item`, within `[start, stop)`.
   *
   * @param item The item.
   * @param start Where to start looking.
   * @param stop Where to stop looking.
   * @returns The index.
   * @throws {ValueError} When no item equals it.
   */
  index(item: T, start?: number, stop?: number): Promise<number> {
    return invoke(this, "index", [item, start, stop]) as Promise<number>;
  }

  /**
   * How many items equal `item`.
   *
   * @param item The item.
   * @returns The count.
   */
  count(item: T): Promise<number> {
    return invoke(this, "count", [item]) as Promise<number>;
  }

  /**
   * Whether an item equals `item` (Python's `x in l`).
   *
   * @param item The item.
   * @returns Whether one does.
   */
  includes(item: T): Promise<boolean> {
    return invoke(this, "includes", [item]) as Promise<boolean>;
  }

  /**
   * A copy of the items from `start` to before `end` (as
   * `Array.prototype.slice`).
   *
   * @param start The first index.
   * @param end The index to stop before.
   * @returns The items.
   */
  slice(start?: number, end?: number): Promise<T[]> {
    return invoke(this, "slice", [start, end]) as Promise<T[]>;
  }

  /**
   * The number of items (Python's `len(l)`).
   *
   * @returns The length.
   */
  length(): Promise<number> {
    return invoke(this, "length", []) as Promise<number>;
  }

  /**
   * Removes every item.
   *
   * @returns When done.
   */
  clear(): Promise<void> {
    return invoke(this, "clear", []) as Promise<void>;
  }

  /**
   * Reverses the list in place.
   *
   * @returns When done.
   */
  reverse(): Promise<void> {
    return invoke(this, "reverse", []) as Promise<void>;
  }

  /**
   * Sorts the list in place as Python does: numbers (and bigints) by
   * value, strings by code unit.
   *
   * @param options `reverse: true` sorts in descending order.
   * @returns When done.
   * @throws {TypeError} When the list mixes types that do not compare.
   */
  sort(options?: { reverse?: boolean }): Promise<void> {
    return invoke(this, "sort", [options]) as Promise<void>;
  }

  /**
   * A copy of the items.
   *
   * @returns The items.
   */
  toArray(): Promise<T[]> {
    return invoke(this, "toArray", []) as Promise<T[]>;
  }

  /**
   * Iterates a snapshot of the items (taken in one call).
   *
   * @returns An async iterator of items.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    yield* await this.toArray();
  }
}

// --- Namespace ----------------------------------------------------------

/**
 * A proxy for a managed namespace (Python's `Namespace`): named
 * attributes, read with `get` and written with `set`. A missing
 * attribute reads as `undefined`.
 *
 * @typeParam T The attributes and their types.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 * await using m = await mp.Manager();
 * const ns = await m.Namespace({ count: 0 });
 * await ns.set("count", (await ns.get("count")) + 1);
 * console.log(await ns.toObject()); // { count: 1 }
 * ```
 */
export class NamespaceProxy<
  T extends Record<string, unknown> = Record<string, unknown>,
> extends BaseProxy {
  /**
   * The attribute `name` (`undefined` when it is not set).
   *
   * @param name The attribute.
   * @returns Its value.
   * @throws {EOFError} When the manager is gone (as every method here).
   */
  get<N extends keyof T & string>(name: N): Promise<T[N]> {
    return invoke(this, "get", [name]) as Promise<T[N]>;
  }

  /**
   * Sets the attribute `name`.
   *
   * @param name The attribute.
   * @param value Its new value.
   * @returns When done.
   */
  set<N extends keyof T & string>(name: N, value: T[N]): Promise<void> {
    return invoke(this, "set", [name, value]) as Promise<void>;
  }

  /**
   * Removes the attribute `name`.
   *
   * @param name The attribute.
   * @returns Whether it was set.
   */
  delete(name: keyof T & string): Promise<boolean> {
    return invoke(this, "delete", [name]) as Promise<boolean>;
  }

  /**
   * Whether the attribute `name` is set.
   *
   * @param name The attribute.
   * @returns Whether it is.
   */
  has(name: string): Promise<boolean> {
    return invoke(this, "has", [name]) as Promise<boolean>;
  }

  /**
   * The names of the set attributes.
   *
   * @returns The names.
   */
  keys(): Promise<string[]> {
    return invoke(this, "keys", []) as Promise<string[]>;
  }

  /**
   * Sets several attributes in one atomic call.
   *
   * @param values The attributes to set.
   * @returns When done.
   */
  update(values: Partial<T>): Promise<void> {
    return invoke(this, "update", [values]) as Promise<void>;
  }

  /**
   * A plain-object copy of the attributes.
   *
   * @returns The copy.
   */
  toObject(): Promise<T> {
    return invoke(this, "toObject", []) as Promise<T>;
  }
}

// --- Value and Array ----------------------------------------------------

/**
 * A proxy for a managed value (Python's `m.Value(typecode, value)`): read
 * it with `get()`, write it with `set()`. The typecode is recorded but,
 * as in Python's manager, not enforced. `get` then `set` is two calls:
 * guard read-modify-write with a managed lock.
 *
 * @typeParam T The value's type.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 * await using m = await mp.Manager();
 * const v = await m.Value("i", 100);
 * await v.set((await v.get()) - 1);
 * console.log(await v.get()); // 99
 * ```
 */
export class ValueProxy<T = unknown> extends BaseProxy {
  /**
   * The value.
   *
   * @returns The value.
   * @throws {EOFError} When the manager is gone (as every method here).
   */
  get(): Promise<T> {
    return invoke(this, "get", []) as Promise<T>;
  }

  /**
   * Replaces the value.
   *
   * @param value The new value.
   * @returns When done.
   */
  set(value: T): Promise<void> {
    return invoke(this, "set", [value]) as Promise<void>;
  }

  /**
   * The typecode given when the value was made.
   *
   * @returns The typecode.
   */
  typecode(): Promise<string> {
    return invoke(this, "typecode", []) as Promise<string>;
  }
}

/**
 * A proxy for a managed fixed-length array (Python's
 * `m.Array(typecode, sequence)`).
 *
 * @typeParam T The item type.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 * await using m = await mp.Manager();
 * const a = await m.Array("i", [1, 2, 3]);
 * await a.set(0, 10);
 * console.log(await a.toArray()); // [10, 2, 3]
 * ```
 */
export class ArrayProxy<T = number> extends BaseProxy {
  /**
   * The item at `index` (negative counts from the end).
   *
   * @param index The index.
   * @returns The item.
   * @throws {RangeError} When `index` is out of range.
   * @throws {EOFError} When the manager is gone (as every method here).
   */
  get(index: number): Promise<T> {
    return invoke(this, "get", [index]) as Promise<T>;
  }

  /**
   * Replaces the item at `index`.
   *
   * @param index The index.
   * @param value The new item.
   * @returns When done.
   * @throws {RangeError} When `index` is out of range.
   */
  set(index: number, value: T): Promise<void> {
    return invoke(this, "set", [index, value]) as Promise<void>;
  }

  /**
   * The number of items.
   *
   * @returns The length.
   */
  length(): Promise<number> {
    return invoke(this, "length", []) as Promise<number>;
  }

  /**
   * A copy of the items from `start` to before `end`.
   *
   * @param start The first index.
   * @param end The index to stop before.
   * @returns The items.
   */
  slice(start?: number, end?: number): Promise<T[]> {
    return invoke(this, "slice", [start, end]) as Promise<T[]>;
  }

  /**
   * A copy of all items.
   *
   * @returns The items.
   */
  toArray(): Promise<T[]> {
    return invoke(this, "toArray", []) as Promise<T[]>;
  }

  /**
   * The typecode given when the array was made.
   *
   * @returns The typecode.
   */
  typecode(): Promise<string> {
    return invoke(this, "typecode", []) as Promise<string>;
  }

  /**
   * Iterates a snapshot of the items.
   *
   * @returns An async iterator of items.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    yield* await this.toArray();
  }
}

// --- Locks ----------------------------------------------------------------

/**
 * A proxy for a managed `Lock` or `RLock`. The owner is the process (its
 * connection): an `RLock` may be re-acquired by the process that holds
 * it, and only that process may release it; a plain `Lock` may be
 * released by anyone, as in Python. Waiting happens on the server. When
 * the holder's process dies (its connection ends), the lock is released,
 * so the others do not deadlock.
 *
 * @example A counter under a managed lock
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 * await using m = await mp.Manager();
 * const lock = await m.Lock();
 * const count = await m.Value("i", 100);
 * await lock.acquire();
 * try {
 *   await count.set((await count.get()) - 1);
 * } finally {
 *   await lock.release();
 * }
 * ```
 */
export class LockProxy extends BaseProxy {
  /**
   * Acquires the lock, waiting on the server as the options say.
   * Cancelling is not possible; give a `timeout` instead.
   *
   * @param options `block: false` tries once; `timeout` gives up after
   * that many seconds (not both, as in Python's `threading`).
   * @returns Whether the lock was acquired (`false` only when not
   * blocking, or on timeout).
   * @throws {RangeError} When `timeout` is negative.
   * @throws {TypeError} When `timeout` is given with `block: false`.
   * @throws {EOFError} When the manager is gone (as every method here).
   */
  acquire(options?: ProxyBlockOptions): Promise<boolean> {
    return invoke(this, "acquire", [options]) as Promise<boolean>;
  }

  /**
   * Releases the lock (one level, for an `RLock`).
   *
   * @returns When done.
   * @throws {ValueError} When it is not locked, or (`RLock`) this process
   * does not hold it.
   */
  release(): Promise<void> {
    return invoke(this, "release", []) as Promise<void>;
  }

  /**
   * Whether someone holds the lock.
   *
   * @returns Whether it is locked.
   */
  locked(): Promise<boolean> {
    return invoke(this, "locked", []) as Promise<boolean>;
  }

  /**
   * Releases the lock: `await lock.acquire(); await using _ = lock;`.
   *
   * @returns When released.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

/**
 * A proxy for a managed `Semaphore` or `BoundedSemaphore`.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 * await using m = await mp.Manager();
 * const s = await m.Semaphore(2);
 * await s.acquire();
 * console.log(await s.getValue()); // 1
 * await s.release();
 * ```
 */
export class SemaphoreProxy extends BaseProxy {
  /**
   * Takes one unit, waiting on the server as the options say.
   *
   * @param options `block: false` tries once; `timeout` gives up after
   * that many seconds.
   * @returns Whether a unit was taken.
   * @throws {EOFError} When the manager is gone (as every method here).
   */
  acquire(options?: ProxyBlockOptions): Promise<boolean> {
    return invoke(this, "acquire", [options]) as Promise<boolean>;
  }

  /**
   * Gives back `n` units.
   *
   * @param n How many.
   * @returns When done.
   * @throws {ValueError} When a `BoundedSemaphore` would go above its
   * initial value.
   */
  release(n?: number): Promise<void> {
    return invoke(this, "release", [n]) as Promise<void>;
  }

  /**
   * The current counter.
   *
   * @returns The counter.
   */
  getValue(): Promise<number> {
    return invoke(this, "getValue", []) as Promise<number>;
  }

  /**
   * Releases one unit.
   *
   * @returns When released.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

/**
 * A proxy for a managed `Event`.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 * await using m = await mp.Manager();
 * const e = await m.Event();
 * await e.set();
 * console.log(await e.wait(1)); // true
 * ```
 */
export class EventProxy extends BaseProxy {
  /**
   * Sets the flag and wakes every waiter.
   *
   * @returns When done.
   * @throws {EOFError} When the manager is gone (as every method here).
   */
  set(): Promise<void> {
    return invoke(this, "set", []) as Promise<void>;
  }

  /**
   * Clears the flag.
   *
   * @returns When done.
   */
  clear(): Promise<void> {
    return invoke(this, "clear", []) as Promise<void>;
  }

  /**
   * Whether the flag is set.
   *
   * @returns The flag.
   */
  isSet(): Promise<boolean> {
    return invoke(this, "isSet", []) as Promise<boolean>;
  }

  /**
   * Waits until the flag is set, at most `timeout` seconds.
   *
   * @param timeout Seconds; `undefined` waits forever; a negative value
   *   does not wait (as Python's `threading`).
   * @returns The flag (`false` only on timeout).
   */
  wait(timeout?: number): Promise<boolean> {
    return invoke(this, "wait", [timeout]) as Promise<boolean>;
  }
}

/**
 * A proxy for a managed `Condition` (over a managed `RLock`, or the
 * `Lock`/`RLock` given to {@linkcode SyncManager.Condition}).
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 * await using m = await mp.Manager();
 * const c = await m.Condition();
 * await c.acquire();
 * console.log(await c.wait(0.01)); // false (nobody notified)
 * await c.release();
 * ```
 */
export class ConditionProxy extends BaseProxy {
  /**
   * Acquires the underlying lock.
   *
   * @param options `block` and `timeout` as {@linkcode LockProxy.acquire}.
   * @returns Whether it was acquired.
   * @throws {EOFError} When the manager is gone (as every method here).
   */
  acquire(options?: ProxyBlockOptions): Promise<boolean> {
    return invoke(this, "acquire", [options]) as Promise<boolean>;
  }

  /**
   * Releases the underlying lock.
   *
   * @returns When done.
   * @throws {ValueError} When this process does not hold it.
   */
  release(): Promise<void> {
    return invoke(this, "release", []) as Promise<void>;
  }

  /**
   * Releases the lock, waits for a notify (at most `timeout` seconds),
   * then re-acquires the lock. The caller must hold the lock.
   *
   * @param timeout Seconds; `undefined` waits forever; a negative value
   *   does not wait (as Python's `threading`).
   * @returns `false` on timeout, else `true`.
   * @throws {ValueError} When this process does not hold the lock.
   */
  wait(timeout?: number): Promise<boolean> {
    return invoke(this, "wait", [timeout]) as Promise<boolean>;
  }

  /**
   * Waits until `predicate()` is truthy, checking it (here, in this
   * process) first and after each notify. The caller must hold the lock.
   *
   * @param predicate The condition to wait for.
   * @param timeout Seconds in all; `undefined` waits forever.
   * @returns The last value of `predicate()`.
   */
  async waitFor<R>(
    predicate: () => R | Promise<R>,
    timeout?: number,
  ): Promise<R> {
    const end = timeout === undefined
      ? Infinity
      : performance.now() + timeout * 1000;
    let result = await predicate();
    while (!result) {
      const left = end - performance.now();
      if (left <= 0) break;
      await this.wait(left === Infinity ? undefined : left / 1000);
      result = await predicate();
    }
    return result;
  }

  /**
   * Wakes up to `n` waiters. The caller must hold the lock.
   *
   * @param n How many.
   * @returns When done.
   * @throws {ValueError} When this process does not hold the lock.
   */
  notify(n?: number): Promise<void> {
    return invoke(this, "notify", [n]) as Promise<void>;
  }

  /**
   * Wakes every waiter. The caller must hold the lock.
   *
   * @returns When done.
   * @throws {ValueError} When this process does not hold the lock.
   */
  notifyAll(): Promise<void> {
    return invoke(this, "notifyAll", []) as Promise<void>;
  }

  /**
   * Releases the underlying lock.
   *
   * @returns When released.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

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
    return invoke(this, "put", [item, options]) as Promise<void>;
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
    return invoke(this, "get", [options]) as Promise<T>;
  }

  /**
   * `put(item, { block: false })`.
   *
   * @param item The item.
   * @returns When the item is in the queue.
   * @throws {Full} When the queue is full.
   */
  putNowait(item: T): Promise<void> {
    return invoke(this, "putNowait", [item]) as Promise<void>;
  }

  /**
   * `get({ block: false })`.
   *
   * @returns The item.
   * @throws {Empty} When the queue is empty.
   */
  getNowait(): Promise<T> {
    return invoke(this, "getNowait", []) as Promise<T>;
  }

  /**
   * The number of items (exact: the server holds them).
   *
   * @returns The size.
   */
  qsize(): Promise<number> {
    return invoke(this, "qsize", []) as Promise<number>;
  }

  /**
   * Whether the queue is empty.
   *
   * @returns Whether it is.
   */
  empty(): Promise<boolean> {
    return invoke(this, "empty", []) as Promise<boolean>;
  }

  /**
   * Whether a bounded queue is full.
   *
   * @returns Whether it is.
   */
  full(): Promise<boolean> {
    return invoke(this, "full", []) as Promise<boolean>;
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
    return invoke(this, "taskDone", []) as Promise<void>;
  }

  /**
   * Waits until every item put has been marked done.
   *
   * @returns When nothing is unfinished.
   */
  join(): Promise<void> {
    return invoke(this, "join", []) as Promise<void>;
  }
}

// --- The manager ----------------------------------------------------------

/**
 * A manager: makes objects held by its server and returns proxies for
 * them. Made by {@linkcode Manager} and {@linkcode serveManager} (which own
 * the server) or by {@linkcode connectManager} (which connects to one).
 * Python's `SyncManager`.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 * await using m = await mp.Manager();
 * const d = await m.dict();
 * const l = await m.list();
 * await d.set("results", l); // proxies can live inside managed objects
 * const again = (await d.get("results")) as mp.ListProxy;
 * await again.append(1);
 * console.log(await l.toArray()); // [1]
 * ```
 */
export class SyncManager implements AsyncDisposable {
  #server: ServerId;
  #thread: ServerThread | ServerProcess | null;
  #closed = false;

  /**
   * Not for users: call {@linkcode Manager}, {@linkcode serveManager} or
   * {@linkcode connectManager}.
   *
   * @param init Internal.
   * @throws {TypeError} When called directly.
   */
  constructor(init: unknown) {
    if (!(init instanceof ManagerInit)) {
      throw new TypeError(
        "Cannot make a SyncManager with new: call Manager(), serveManager() or connectManager()",
      );
    }
    this.#server = init.server;
    this.#thread = init.thread;
  }

  /** The server's address (`[hostname, port]`). */
  get address(): ManagerAddress {
    const [h, p] = this.#server.address;
    return [h, p];
  }

  /** A copy of the server's authkey. */
  get authkey(): Uint8Array {
    return this.#server.authkey.slice();
  }

  async #create<P>(typeid: TypeId, args: unknown[]): Promise<P> {
    return await call(
      this.#server,
      SERVER_OBJECT,
      "create",
      [typeid, ...args],
      `make a managed ${typeid}`,
    ) as P;
  }

  /**
   * Makes a managed dict.
   *
   * @typeParam K The key type.
   * @typeParam V The value type.
   * @param init Initial contents: an object, a `Map` or `[key, value]`
   * pairs.
   * @returns Its proxy.
   * @throws {TypeError} When a key or value cannot be stored.
   * @throws {EOFError} When the manager is gone (as every method here).
   */
  dict<K extends DictKey = DictKey, V = unknown>(
    init?: Record<string, V> | Map<K, V> | Iterable<readonly [K, V]>,
  ): Promise<DictProxy<K, V>> {
    const src = init === undefined || init instanceof Map ||
        Array.isArray(init) || !(Symbol.iterator in Object(init))
      ? init
      : [...(init as Iterable<readonly [K, V]>)];
    return this.#create("dict", src === undefined ? [] : [src]);
  }

  /**
   * Makes a managed list.
   *
   * @typeParam T The item type.
   * @param init Initial items.
   * @returns Its proxy.
   */
  list<T = unknown>(init?: Iterable<T>): Promise<ListProxy<T>> {
    return this.#create("list", init === undefined ? [] : [[...init]]);
  }

  /**
   * Makes a managed namespace.
   *
   * @typeParam T The attributes.
   * @param init Initial attributes (Python's `Namespace(**kwds)`).
   * @returns Its proxy.
   */
  Namespace<T extends Record<string, unknown> = Record<string, unknown>>(
    init?: T,
  ): Promise<NamespaceProxy<T>> {
    return this.#create("Namespace", init === undefined ? [] : [init]);
  }

  /**
   * Makes a managed value.
   *
   * @typeParam T The value's type.
   * @param typecode A type code as Python's `array` module (`"i"`, `"d"` …).
   * @param value The initial value.
   * @returns Its proxy.
   * @throws {TypeError} When `typecode` is unknown.
   */
  Value<T>(typecode: string, value: T): Promise<ValueProxy<T>> {
    return this.#create("Value", [typecode, value]);
  }

  /**
   * Makes a managed fixed-length array.
   *
   * @typeParam T The item type.
   * @param typecode A type code as Python's `array` module.
   * @param sizeOrInit A length (filled with zeros) or the initial items.
   * @returns Its proxy.
   * @throws {TypeError} When `typecode` is unknown.
   */
  Array<T = number>(
    typecode: string,
    sizeOrInit: number | Iterable<T>,
  ): Promise<ArrayProxy<T>> {
    const init = typeof sizeOrInit === "number" ? sizeOrInit : [...sizeOrInit];
    return this.#create("Array", [typecode, init]);
  }

  /**
   * Makes a managed `Lock`.
   *
   * @returns Its proxy.
   */
  Lock(): Promise<LockProxy> {
    return this.#create("Lock", []);
  }

  /**
   * Makes a managed `RLock` (re-entrant per process).
   *
   * @returns Its proxy.
   */
  RLock(): Promise<LockProxy> {
    return this.#create("RLock", []);
  }

  /**
   * Makes a managed `Semaphore`.
   *
   * @param value The initial counter.
   * @returns Its proxy.
   * @throws {RangeError} When `value` is negative.
   */
  Semaphore(value = 1): Promise<SemaphoreProxy> {
    return this.#create("Semaphore", [value]);
  }

  /**
   * Makes a managed `BoundedSemaphore`.
   *
   * @param value The initial (and largest) counter.
   * @returns Its proxy.
   * @throws {RangeError} When `value` is negative.
   */
  BoundedSemaphore(value = 1): Promise<SemaphoreProxy> {
    return this.#create("BoundedSemaphore", [value]);
  }

  /**
   * Makes a managed `Event`.
   *
   * @returns Its proxy.
   */
  Event(): Promise<EventProxy> {
    return this.#create("Event", []);
  }

  /**
   * Makes a managed `Condition`.
   *
   * @param lock A managed `Lock` or `RLock` of this manager.
   * @returns Its proxy.
   * @throws {TypeError} When `lock` is not a lock of this manager.
   */
  Condition(lock?: LockProxy): Promise<ConditionProxy> {
    return this.#create("Condition", lock === undefined ? [] : [lock]);
  }

  /**
   * Makes a managed `Queue`.
   *
   * @typeParam T The item type.
   * @param maxsize The most items it holds; `0` is unbounded.
   * @returns Its proxy.
   */
  Queue<T = unknown>(maxsize = 0): Promise<QueueProxy<T>> {
    return this.#create("Queue", [maxsize]);
  }

  /**
   * Makes a managed `JoinableQueue`.
   *
   * @typeParam T The item type.
   * @param maxsize The most items it holds; `0` is unbounded.
   * @returns Its proxy.
   */
  JoinableQueue<T = unknown>(maxsize = 0): Promise<JoinableQueueProxy<T>> {
    return this.#create("JoinableQueue", [maxsize]);
  }

  /**
   * Publishes `proxy` under `name`, for {@linkcode SyncManager.get} in
   * other processes (a name registered again is replaced).
   *
   * @param name The name (1 to 256 characters).
   * @param proxy A proxy (usually of this manager).
   * @returns When registered.
   * @throws {TypeError} When `proxy` is not a manager proxy.
   */
  register(name: string, proxy: BaseProxy): Promise<void> {
    if (!(proxy instanceof BaseProxy)) {
      return Promise.reject(
        new TypeError(
          `Cannot register '${name}': only manager proxies can be registered`,
        ),
      );
    }
    return call(
      this.#server,
      SERVER_OBJECT,
      "register",
      [name, proxy],
      `register '${name}'`,
    ) as Promise<void>;
  }

  /**
   * The proxy published under `name`.
   *
   * @typeParam P The proxy's class, for typing (not checked).
   * @param name The name.
   * @returns A working proxy.
   * @throws {RangeError} When nothing is registered under `name`.
   */
  get<P extends BaseProxy = BaseProxy>(name: string): Promise<P> {
    return call(
      this.#server,
      SERVER_OBJECT,
      "lookup",
      [name],
      `get '${name}'`,
    ) as Promise<P>;
  }

  /**
   * Removes the name `name` (the object stays).
   *
   * @param name The name.
   * @returns Whether it was registered.
   */
  unregister(name: string): Promise<boolean> {
    return call(
      this.#server,
      SERVER_OBJECT,
      "unregister",
      [name],
      `unregister '${name}'`,
    ) as Promise<boolean>;
  }

  /**
   * The registered names.
   *
   * @returns The names.
   */
  names(): Promise<string[]> {
    return call(
      this.#server,
      SERVER_OBJECT,
      "names",
      [],
      "list the names",
    ) as Promise<string[]>;
  }

  /**
   * Keeps this program serving until the manager is shut down (Python's
   * `serve_forever()`); for a program that only serves a manager. Only on
   * a manager that owns its server.
   *
   * @returns When the server has stopped.
   * @throws {TypeError} On a manager from {@linkcode connectManager}.
   */
  async serveForever(): Promise<void> {
    if (this.#thread === null) {
      throw new TypeError(
        "Cannot serve forever: this manager is connected to a server it does not own",
      );
    }
    await this.#thread.ended();
  }

  /**
   * Shuts the manager down. On a manager that owns its server
   * ({@linkcode Manager}, {@linkcode serveManager}): stops the server,
   * ending every connection, so proxy calls in every process reject
   * with `EOFError`. On one from {@linkcode connectManager}: closes this
   * process's connection only (the server goes on), and this process's
   * proxies of it reject with `EOFError` until it connects again.
   * Calling it again does nothing.
   *
   * @returns When done.
   */
  async shutdown(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await disconnect(this.#server, this.#thread ? "shutdown" : "closed");
    if (this.#thread !== null) await this.#thread.stop();
  }

  /**
   * Same as {@linkcode SyncManager.shutdown}, for `await using`.
   *
   * @returns When done.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

class ManagerInit {
  constructor(
    readonly server: ServerId,
    readonly thread: ServerThread | ServerProcess | null,
  ) {
  }
}

function maxFrameOption(n: number | undefined): number {
  if (n === undefined) return DEFAULT_MAX_FRAME;
  if (!Number.isInteger(n) || n < 1024 || n > 0xffff_ffff) {
    throw new RangeError(
      `Cannot start the manager: maxFrameSize must be an integer from 1024 to 4294967295, got '${n}'`,
    );
  }
  return n;
}

function addressOption(
  a: ManagerAddress | undefined,
  action: string,
): ManagerAddress {
  if (a === undefined) return ["127.0.0.1", 0];
  if (
    !Array.isArray(a) || a.length !== 2 || typeof a[0] !== "string" ||
    !Number.isInteger(a[1]) || a[1] < 0 || a[1] > 65535
  ) {
    throw new TypeError(
      `Cannot ${action}: the address must be [hostname, port], got '${
        String(a)
      }'`,
    );
  }
  return [a[0], a[1]];
}

/** The shortest authkey accepted when serving beyond loopback, in bytes. */
const MIN_REMOTE_KEY = 16;

/** Whether `hostname` only reaches this machine. */
function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

async function start(options: ManagerOptions): Promise<SyncManager> {
  const [hostname, port] = addressOption(options.address, "start the manager");
  const authkey = options.authkey === undefined
    ? crypto.getRandomValues(new Uint8Array(32))
    : authkeyBytes(options.authkey);
  if (authkey.length < MIN_REMOTE_KEY && !isLoopback(hostname)) {
    throw new RangeError(
      `Cannot serve the manager on '${hostname}': its authkey is ${authkey.length} bytes, and beyond loopback it must be at least ${MIN_REMOTE_KEY}; use random bytes, e.g. crypto.getRandomValues(new Uint8Array(32))`,
    );
  }
  checkResourceLimits(options.resourceLimits, "start the manager");
  const serverOptions = {
    hostname,
    port,
    authkey,
    maxFrameSize: maxFrameOption(options.maxFrameSize),
  };
  // A process of its own, as in Python, so that running out of memory
  // ends only the server; a thread where this program may not run deno.
  const thread = canStartServerProcess()
    ? await ServerProcess.start(serverOptions, options.resourceLimits)
    : await ServerThread.start(serverOptions);
  const server = ServerId.of(thread.address, authkey);
  if (thread instanceof ServerProcess) {
    // Its calls in flight, and later ones, fail saying why.
    watchServer(server, thread.died);
  }
  try {
    await ensureConnected(server);
  } catch (err) {
    await thread.stop();
    throw err;
  }
  return new SyncManager(new ManagerInit(server, thread));
}

/**
 * Starts a manager for this program: a server in its own thread, on
 * loopback with a random authkey, and returns the {@linkcode SyncManager}
 * that makes managed objects. Shut it down with `shutdown()` or
 * `await using`; a forgotten manager does not keep the program alive.
 * Requires `--allow-net`.
 *
 * @param options Where to listen, the authkey and the message limit.
 * @returns The manager.
 * @throws {Deno.errors.NotCapable} Without `--allow-net`.
 * @throws {Deno.errors.AddrInUse} When `address` is taken.
 * @throws {RangeError} When `maxFrameSize` is out of range.
 *
 * @example Ten processes fill a managed dict
 * ```ts ignore
 * import * as mp from "@seed/multiprocessing";
 *
 * export async function f(d: mp.DictProxy<number, number>, i: number) {
 *   await d.set(i, 100);
 * }
 *
 * if (import.meta.main) {
 *   await using m = await mp.Manager();
 *   const d = await m.dict<number, number>();
 *   const ps = [...Array(10).keys()].map((i) =>
 *     new mp.Process({ target: f, args: [d, i] }));
 *   ps.forEach((p) => p.start());
 *   await Promise.all(ps.map((p) => p.join()));
 *   console.log(await d.size()); // 10
 * }
 * ```
 */
export async function Manager(options: ManagerOptions = {}): Promise<
  SyncManager
> {
  // The manager is a process of its own in Python: not while a child is
  // still importing its modules (see `checkNotBootstrapping`).
  checkNotBootstrapping("start a manager");
  return await start(options);
}

/**
 * Serves a manager at `address` for other OS processes (Python's
 * `BaseManager(address, authkey).get_server()`). Make objects with it
 * as with {@linkcode Manager} and publish them with `register(name, proxy)`;
 * other processes call {@linkcode connectManager} and `get(name)`.
 * The default host is loopback: pass `["0.0.0.0", port]` to serve other
 * machines (the authkey is then all that guards the objects; traffic is
 * not encrypted). Requires `--allow-net`.
 *
 * @param options The address (default `["127.0.0.1", 0]`), the authkey
 * and the message limit.
 * @returns The manager (it owns the server).
 * @throws {TypeError} When the authkey is missing or empty.
 * @throws {RangeError} When the authkey is shorter than 16 bytes and the
 * host is not loopback.
 * @throws {Deno.errors.AddrInUse} When the address is taken.
 *
 * @example Serve a job queue
 * ```ts ignore
 * import * as mp from "@seed/multiprocessing";
 * const server = await mp.serveManager({
 *   address: ["127.0.0.1", 50000],
 *   authkey: "secret",
 * });
 * await server.register("jobs", await server.Queue<string>());
 * await server.serveForever();
 * ```
 */
export async function serveManager(
  options: ServeManagerOptions,
): Promise<SyncManager> {
  if (options?.authkey === undefined) {
    throw new TypeError(
      "Cannot serve a manager: give an authkey that clients will present",
    );
  }
  return await start(options);
}

/**
 * Connects to a manager served by {@linkcode serveManager} (Python's
 * `BaseManager(address, authkey).connect()`). Use `get(name)` for the
 * objects it publishes; `dict()`, `list()` … make new objects there.
 * `shutdown()` closes this connection only. Requires `--allow-net`.
 *
 * @param options The server's address and authkey.
 * @returns The manager.
 * @throws {AuthenticationError} When the authkey does not match (the
 * connection is closed).
 * @throws {Deno.errors.ConnectionRefused} When nothing listens there.
 * @throws {TimeoutError} When the server does not finish the handshake in
 * 10 seconds.
 *
 * @example Use a published job queue
 * ```ts ignore
 * import * as mp from "@seed/multiprocessing";
 * const m = await mp.connectManager({
 *   address: ["127.0.0.1", 50000],
 *   authkey: "secret",
 * });
 * const jobs = await m.get<mp.QueueProxy<string>>("jobs");
 * await jobs.put("hello");
 * await m.shutdown();
 * ```
 */
export async function connectManager(
  options: ConnectManagerOptions,
): Promise<SyncManager> {
  const address = addressOption(options?.address, "connect to the manager");
  if (options.authkey === undefined) {
    throw new TypeError(
      "Cannot connect to the manager: give the authkey it was served with",
    );
  }
  const server = ServerId.of(address, authkeyBytes(options.authkey));
  await ensureConnected(server);
  return new SyncManager(new ManagerInit(server, null));
}
