/**
 * The proxies for the manager's keyed containers: dict and Namespace.
 * Each method is one call to the server (see `proxy.ts`).
 *
 * @module
 */

import { BaseProxy, invoke } from "./proxy.ts";
import type { DictKey } from "./wire.ts";

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
    return invoke(this, "get", [key, fallback]);
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
    return invoke(this, "set", [key, value]);
  }

  /**
   * Removes `key`.
   *
   * @param key The key.
   * @returns Whether it was there.
   */
  delete(key: K): Promise<boolean> {
    return invoke(this, "delete", [key]);
  }

  /**
   * Whether `key` is in the dict (Python's `key in d`).
   *
   * @param key The key.
   * @returns Whether it is there.
   */
  has(key: K): Promise<boolean> {
    return invoke(this, "has", [key]);
  }

  /**
   * The keys, in insertion order.
   *
   * @returns A snapshot of the keys.
   */
  keys(): Promise<K[]> {
    return invoke(this, "keys", []);
  }

  /**
   * The values, in insertion order.
   *
   * @returns A snapshot of the values.
   */
  values(): Promise<V[]> {
    return invoke(this, "values", []);
  }

  /**
   * The `[key, value]` pairs, in insertion order.
   *
   * @returns A snapshot of the pairs.
   */
  entries(): Promise<[K, V][]> {
    return invoke(this, "entries", []);
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
    return invoke(this, "size", []);
  }

  /**
   * Removes every key.
   *
   * @returns When done.
   */
  clear(): Promise<void> {
    return invoke(this, "clear", []);
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
    return invoke(this, "update", [src]);
  }

  /**
   * Returns the value of `key`, first setting it to `fallback` if missing.
   *
   * @param key The key.
   * @param fallback The value to set when `key` is missing.
   * @returns The value now stored.
   */
  setdefault(key: K, fallback: V): Promise<V> {
    return invoke(this, "setdefault", [key, fallback]);
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
    return invoke(this, "pop", [key, ...fallback]);
  }

  /**
   * Removes and returns the last inserted pair.
   *
   * @returns The pair.
   * @throws {RangeError} When the dict is empty.
   */
  popitem(): Promise<[K, V]> {
    return invoke(this, "popitem", []);
  }

  /**
   * A plain-object copy (keys become strings).
   *
   * @returns The copy.
   */
  toObject(): Promise<Record<string, V>> {
    return invoke(this, "toObject", []);
  }

  /**
   * A `Map` copy (keys keep their types).
   *
   * @returns The copy.
   */
  toMap(): Promise<Map<K, V>> {
    return invoke(this, "toMap", []);
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
    return invoke(this, "get", [name]);
  }

  /**
   * Sets the attribute `name`.
   *
   * @param name The attribute.
   * @param value Its new value.
   * @returns When done.
   */
  set<N extends keyof T & string>(name: N, value: T[N]): Promise<void> {
    return invoke(this, "set", [name, value]);
  }

  /**
   * Removes the attribute `name`.
   *
   * @param name The attribute.
   * @returns Whether it was set.
   */
  delete(name: keyof T & string): Promise<boolean> {
    return invoke(this, "delete", [name]);
  }

  /**
   * Whether the attribute `name` is set.
   *
   * @param name The attribute.
   * @returns Whether it is.
   */
  has(name: string): Promise<boolean> {
    return invoke(this, "has", [name]);
  }

  /**
   * The names of the set attributes.
   *
   * @returns The names.
   */
  keys(): Promise<string[]> {
    return invoke(this, "keys", []);
  }

  /**
   * Sets several attributes in one atomic call.
   *
   * @param values The attributes to set.
   * @returns When done.
   */
  update(values: Partial<T>): Promise<void> {
    return invoke(this, "update", [values]);
  }

  /**
   * A plain-object copy of the attributes.
   *
   * @returns The copy.
   */
  toObject(): Promise<T> {
    return invoke(this, "toObject", []);
  }
}
