/**
 * The base of every manager proxy ({@linkcode BaseProxy}): what a proxy
 * stands for (server, object id, type), how it crosses to another process
 * (`kShare`) and how a method becomes a call to the server
 * ({@linkcode invoke}). The proxy classes are in `proxies_*.ts`; which
 * class a type gets, in `proxies.ts`.
 *
 * @module
 */

import { call, type ProxyCodec, type ProxyRef } from "./client.ts";
import { kShare } from "../_common/transfer.ts";

/** A manager's TCP address: `[hostname, port]`. */
export type ManagerAddress = [hostname: string, port: number];

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

/** The tag proxies cross under (see `_common/transfer.ts`). */
export const PROXY_TAG = "mp.ManagerProxy";

/** What a proxy holds: what it stands for, and how proxies cross. */
export interface ProxyState extends ProxyRef {
  /** Passed with every call (see `client.ts`). */
  readonly codec: ProxyCodec;
}

/** Makes a proxy of the class it is called on: `DictProxy[kMake](state)`. */
export const kMake: unique symbol = Symbol("mp.manager.makeProxy");
/** A proxy's {@linkcode ProxyState} (read it with {@linkcode stateOf}). */
export const kState: unique symbol = Symbol("mp.manager.proxyState");

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
  /** The state of the proxy being made by {@linkcode BaseProxy[kMake]}. */
  static #making: object | undefined;
  #state: ProxyState;

  /**
   * Not for users: proxies come from a manager.
   *
   * @param init The proxy's identity (internal).
   * @throws {TypeError} When called directly.
   */
  constructor(init: unknown) {
    if (init === undefined || init !== BaseProxy.#making) {
      throw new TypeError(
        "Cannot make a proxy with new: get one from a manager (await m.dict() …)",
      );
    }
    BaseProxy.#making = undefined;
    this.#state = init as ProxyState;
  }

  /**
   * Not for users: makes a proxy of the class it is called on.
   *
   * @param state What the proxy stands for.
   * @returns The proxy.
   */
  static [kMake]<P extends BaseProxy>(
    this: new (init: unknown) => P,
    state: object,
  ): P {
    BaseProxy.#making = state;
    try {
      return new this(state);
    } finally {
      BaseProxy.#making = undefined;
    }
  }

  /**
   * Not for users: what the proxy stands for (see `stateOf`).
   *
   * @returns The state.
   */
  [kState](): object {
    return this.#state;
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

/**
 * What `p` stands for, and how proxies cross.
 *
 * @param p The proxy.
 * @returns Its state.
 */
export function stateOf(p: BaseProxy): ProxyState {
  return p[kState]() as ProxyState;
}

/** A concrete proxy class, as `proxies.ts` lists them. */
export type ProxyClass =
  & (new (init: unknown) => BaseProxy)
  & Pick<typeof BaseProxy, typeof kMake>;

/**
 * Calls method `m` of the object `p` stands for, on its server.
 *
 * @param p The proxy.
 * @param m The method.
 * @param args The arguments.
 * @returns The result (its type is the proxy method's to declare).
 */
export function invoke<R>(
  p: BaseProxy,
  m: string,
  args: unknown[],
): Promise<R> {
  const s = stateOf(p);
  const label = `call '${m}' on a managed ${s.typeid}`;
  return call(s.server, { o: s.id, m, args, label, codec: s.codec }) as Promise<
    R
  >;
}
