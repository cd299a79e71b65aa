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

import { type DictKey, SERVER_OBJECT, type TypeId } from "./_manager/wire.ts";
import { authkeyBytes } from "./_manager/handshake.ts";
import {
  call,
  disconnect,
  ensureConnected,
  ServerId,
} from "./_manager/client.ts";
import type { ServerThread } from "./_manager/thread.ts";
import type { ServerProcess } from "./_manager/child.ts";
import {
  addressOption,
  type ConnectManagerOptions,
  type ManagerOptions,
  type ServeManagerOptions,
  startServer,
} from "./_manager/start.ts";
import { checkNotBootstrapping } from "./_common/self.ts";
import { BaseProxy, type ManagerAddress, PROXY_TAG } from "./_manager/proxy.ts";
import { PROXY_CODEC, reviveProxy } from "./_manager/proxies.ts";
import { registerShareable } from "./_common/transfer.ts";
import type { DictProxy, NamespaceProxy } from "./_manager/proxies_dict.ts";
import type {
  ArrayProxy,
  ListProxy,
  ValueProxy,
} from "./_manager/proxies_list.ts";
import type {
  ConditionProxy,
  EventProxy,
  LockProxy,
  SemaphoreProxy,
} from "./_manager/proxies_sync.ts";
import type {
  JoinableQueueProxy,
  QueueProxy,
} from "./_manager/proxies_queues.ts";

export { type DictKey } from "./_manager/wire.ts";
export type {
  ConnectManagerOptions,
  ManagerOptions,
  ServeManagerOptions,
} from "./_manager/start.ts";
export {
  BaseProxy,
  type ManagerAddress,
  type ProxyBlockOptions,
} from "./_manager/proxy.ts";
export * from "./_manager/proxies_dict.ts";
export * from "./_manager/proxies_list.ts";
export * from "./_manager/proxies_sync.ts";
export * from "./_manager/proxies_queues.ts";

/** Makes a {@linkcode SyncManager}: the only way to (see its constructor). */
const kOpen: unique symbol = Symbol("mp.manager.open");

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
    if (init === undefined || init !== SyncManager.#opening) {
      throw new TypeError(
        "Cannot make a SyncManager with new: call Manager(), serveManager() or connectManager()",
      );
    }
    SyncManager.#opening = undefined;
    this.#server = (init as Opening).server;
    this.#thread = (init as Opening).thread;
  }

  /** What the manager being made by {@linkcode SyncManager[kOpen]} uses. */
  static #opening: Opening | undefined;

  /**
   * Not for users: makes the manager of `server`.
   *
   * @param server The server.
   * @param thread The server's thread or process, when this program owns it.
   * @returns The manager.
   */
  static [kOpen](
    server: ServerId,
    thread: ServerThread | ServerProcess | null,
  ): SyncManager {
    const opening: Opening = { server, thread };
    SyncManager.#opening = opening;
    try {
      return new SyncManager(opening);
    } finally {
      SyncManager.#opening = undefined;
    }
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

  /** Calls method `m` of the server itself (as opposed to an object). */
  #serverCall<R>(m: string, args: unknown[], label: string): Promise<R> {
    const o = SERVER_OBJECT;
    return call(this.#server, {
      o,
      m,
      args,
      label,
      codec: PROXY_CODEC,
    }) as Promise<R>;
  }

  #create<P>(typeid: TypeId, args: unknown[]): Promise<P> {
    return this.#serverCall(
      "create",
      [typeid, ...args],
      `make a managed ${typeid}`,
    );
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
    return this.#serverCall("register", [name, proxy], `register '${name}'`);
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
    return this.#serverCall("lookup", [name], `get '${name}'`);
  }

  /**
   * Removes the name `name` (the object stays).
   *
   * @param name The name.
   * @returns Whether it was registered.
   */
  unregister(name: string): Promise<boolean> {
    return this.#serverCall("unregister", [name], `unregister '${name}'`);
  }

  /**
   * The registered names.
   *
   * @returns The names.
   */
  names(): Promise<string[]> {
    return this.#serverCall("names", [], "list the names");
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

/** What a {@linkcode SyncManager} is made of. */
interface Opening {
  server: ServerId;
  thread: ServerThread | ServerProcess | null;
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
  const { server, thread } = await startServer(options);
  return SyncManager[kOpen](server, thread);
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
  const { server, thread } = await startServer(options);
  return SyncManager[kOpen](server, thread);
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
  return SyncManager[kOpen](server, null);
}

registerShareable(PROXY_TAG, reviveProxy);
