/**
 * The proxies for the manager's sequences and values: list, Array (on one
 * base, {@linkcode SequenceProxy}) and Value. Each method is one call to
 * the server (see `proxy.ts`).
 *
 * @module
 */

import { BaseProxy, invoke } from "./proxy.ts";

// --- list and Array -----------------------------------------------------

/**
 * What a managed list and a managed Array share: indexed reads and writes
 * (a negative index counts from the end, as in Python), the length,
 * slices, a copy, and `for await` over a snapshot.
 *
 * @typeParam T The item type.
 *
 * @example Read any managed sequence
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 * await using m = await mp.Manager();
 * const seqs: mp.SequenceProxy<number>[] = [
 *   await m.list([1, 2]),
 *   await m.Array("i", [3, 4]),
 * ];
 * for (const s of seqs) console.log(await s.get(-1)); // 2, then 4
 * ```
 */
export abstract class SequenceProxy<T> extends BaseProxy {
  /**
   * The item at `index`.
   *
   * @param index The index (negative counts from the end).
   * @returns The item.
   * @throws {RangeError} When `index` is out of range.
   * @throws {EOFError} When the manager is gone (as every method here).
   */
  get(index: number): Promise<T> {
    return invoke(this, "get", [index]);
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
    return invoke(this, "set", [index, value]);
  }

  /**
   * The number of items (Python's `len(l)`).
   *
   * @returns The length.
   */
  length(): Promise<number> {
    return invoke(this, "length", []);
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
    return invoke(this, "slice", [start, end]);
  }

  /**
   * A copy of the items.
   *
   * @returns The items.
   */
  toArray(): Promise<T[]> {
    return invoke(this, "toArray", []);
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
export class ListProxy<T = unknown> extends SequenceProxy<T> {
  /**
   * Removes the item at `index` (Python's `del l[i]`).
   *
   * @param index The index (negative counts from the end).
   * @returns When done.
   * @throws {RangeError} When `index` is out of range.
   */
  delete(index: number): Promise<void> {
    return invoke(this, "delete", [index]);
  }

  /**
   * Adds `item` at the end.
   *
   * @param item The item.
   * @returns When done.
   */
  append(item: T): Promise<void> {
    return invoke(this, "append", [item]);
  }

  /**
   * Adds every item of `items` at the end, in one atomic call.
   *
   * @param items The items.
   * @returns When done.
   */
  extend(items: Iterable<T>): Promise<void> {
    return invoke(this, "extend", [[...items]]);
  }

  /**
   * Inserts `item` before `index` (clamped to the list, as in Python).
   *
   * @param index Where to insert.
   * @param item The item.
   * @returns When done.
   */
  insert(index: number, item: T): Promise<void> {
    return invoke(this, "insert", [index, item]);
  }

  /**
   * Removes and returns the item at `index` (the last by default).
   *
   * @param index The index.
   * @returns The item.
   * @throws {RangeError} When the list is empty or `index` out of range.
   */
  pop(index?: number): Promise<T> {
    return invoke(this, "pop", [index]);
  }

  /**
   * Removes the first item equal to `item`.
   *
   * @param item The item.
   * @returns When done.
   * @throws {ValueError} When no item equals it.
   */
  remove(item: T): Promise<void> {
    return invoke(this, "remove", [item]);
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
    return invoke(this, "index", [item, start, stop]);
  }

  /**
   * How many items equal `item`.
   *
   * @param item The item.
   * @returns The count.
   */
  count(item: T): Promise<number> {
    return invoke(this, "count", [item]);
  }

  /**
   * Whether an item equals `item` (Python's `x in l`).
   *
   * @param item The item.
   * @returns Whether one does.
   */
  includes(item: T): Promise<boolean> {
    return invoke(this, "includes", [item]);
  }

  /**
   * Removes every item.
   *
   * @returns When done.
   */
  clear(): Promise<void> {
    return invoke(this, "clear", []);
  }

  /**
   * Reverses the list in place.
   *
   * @returns When done.
   */
  reverse(): Promise<void> {
    return invoke(this, "reverse", []);
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
    return invoke(this, "sort", [options]);
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
export class ArrayProxy<T = number> extends SequenceProxy<T> {
  /**
   * The typecode given when the array was made.
   *
   * @returns The typecode.
   */
  typecode(): Promise<string> {
    return invoke(this, "typecode", []);
  }
}

// --- Value --------------------------------------------------------------

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
    return invoke(this, "get", []);
  }

  /**
   * Replaces the value.
   *
   * @param value The new value.
   * @returns When done.
   */
  set(value: T): Promise<void> {
    return invoke(this, "set", [value]);
  }

  /**
   * The typecode given when the value was made.
   *
   * @returns The typecode.
   */
  typecode(): Promise<string> {
    return invoke(this, "typecode", []);
  }
}
