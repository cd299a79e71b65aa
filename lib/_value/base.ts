/**
 * The two bases of `shared_value.ts`, as in Python's `sharedctypes`: a
 * raw object holds elements of one typecode in shared memory
 * ({@linkcode RawBase}, under `RawValue` and `RawArray`), and a
 * synchronized one wraps a raw object with the lock that guards it
 * ({@linkcode SynchronizedBase}, under `Value` and `Array`). Public:
 * `shared_value.ts` exports both, so their members are documented once.
 *
 * A primitive that crosses into another process is made there by its
 * base's static `[kRevive]`, which runs the base's constructor with the
 * subclass as `new.target` over the memory that crossed; a subclass names
 * its tag, printed name and indexing in a static `[kKind]`
 * (`_value/kinds.ts`).
 *
 * @module
 */

import { Lock, RLock } from "../synchronize.ts";
import {
  decodeShared,
  encodeShared,
  kRevive,
  kShare,
  newShareId,
  rememberShared,
} from "../_common/transfer.ts";
import { type Cells, cellsOver } from "./cells.ts";
import { indexed, targetOf } from "./indexed.ts";
import { kCells, type Kind, kKind, kRaw } from "./kinds.ts";
import type {
  // deno-lint-ignore no-unused-vars
  RawArray,
  // deno-lint-ignore no-unused-vars
  RawValue,
  SharedValueOptions,
  Typecode,
} from "../shared_value.ts";

/** The lock a synchronized object uses, from its `lock` option. */
export function lockFrom(
  lock: SharedValueOptions["lock"],
  what: string,
): Lock | RLock | null {
  if (lock === undefined || lock === true) return new RLock();
  if (lock === false) return null;
  if (lock instanceof Lock || lock instanceof RLock) return lock;
  throw new TypeError(
    `Cannot make ${what}: 'lock' must be a boolean, a Lock or an RLock`,
  );
}

const inspect: unique symbol = Symbol.for("Deno.customInspect");

/** `Value('i', 5)`, `Array('i', [1, 2])` … */
function describe(
  kind: Kind,
  cells: Cells,
  inspectFn: ((value: unknown, options?: unknown) => string) | undefined,
  options: unknown,
): string {
  const shown = kind.indexed ? cells.slice() : cells.get(0);
  const text = inspectFn ? inspectFn(shown, options) : String(shown);
  return `${kind.name}('${cells.code}', ${text})`;
}

/** A subclass's {@linkcode Kind}, named in its static `[kKind]`. */
function kindOf(cls: unknown): Kind {
  return (cls as { [kKind]: Kind })[kKind];
}

/**
 * What a constructor gives back: an array answers `a[i]`, so it is its
 * proxy. One made here (not revived) is remembered, so that a marker of
 * it coming back is this object; the transfer layer remembers what it
 * revives.
 */
function finish<O extends object>(
  obj: O,
  kind: Kind,
  id: string,
  revived: boolean,
): O {
  const self = kind.indexed ? indexed(obj) : obj;
  if (!revived) rememberShared(kind.tag, id, self);
  return self;
}

/**
 * Elements of one typecode in shared memory, without a lock: the base of
 * {@linkcode RawValue} and {@linkcode RawArray}. Each read or write of an
 * element is atomic; anything more needs a lock of your own.
 *
 * @typeParam T The typecode.
 */
export abstract class RawBase<T extends Typecode = Typecode> {
  #cells: Cells;
  #kind: Kind;
  #id: string;

  /**
   * Makes one of this class in the receiving process, over the memory its
   * `[kShare]()` described (the registry of shareable classes calls it).
   *
   * @param data The descriptor's data.
   * @param id The descriptor's id.
   * @returns The primitive.
   */
  static [kRevive](data: unknown, id: string): unknown {
    const d = data as { code: Typecode; buf: SharedArrayBuffer };
    // This base's constructor with the subclass as `new.target`: the
    // subclass's own constructor makes new memory.
    return Reflect.construct(RawBase, [cellsOver(d.code, d.buf), id], this);
  }

  /**
   * @param cells The elements.
   * @param id The id of one that crossed; a new one when omitted.
   * @ignore
   */
  protected constructor(cells: Cells, id?: string) {
    this.#cells = cells;
    this.#kind = kindOf(new.target);
    this.#id = id ?? newShareId();
    return finish(this, this.#kind, this.#id, id !== undefined);
  }

  /**
   * The elements, for the subclasses (and for the synchronized object
   * that wraps this one, which shows them).
   *
   * @ignore
   */
  get [kCells](): Cells {
    return this.#cells;
  }

  /** The typecode it was made with. */
  get typecode(): T {
    return this.#cells.code as T;
  }

  /**
   * Describes it for another process.
   *
   * @returns The share descriptor.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    return {
      tag: this.#kind.tag,
      id: this.#id,
      data: { code: this.#cells.code, buf: this.#cells.buffer },
    };
  }

  /**
   * How `console.log` shows it: `RawValue('i', 5)`, `RawArray('i', [1])`.
   *
   * @param inspectFn Deno's inspect.
   * @param options Deno's inspect options.
   * @returns The text.
   */
  [inspect](
    inspectFn?: (value: unknown, options?: unknown) => string,
    options?: unknown,
  ): string {
    return describe(this.#kind, this.#cells, inspectFn, options);
  }
}

/**
 * A raw value or array with the lock that guards it: the base of
 * {@linkcode Value} and {@linkcode SharedArray} (Python's
 * `SynchronizedBase`, a synchronized wrapper around a raw object). Each
 * read or write of an element is atomic without the lock; hold
 * {@linkcode SynchronizedBase.getLock} around a read-modify-write.
 *
 * @typeParam T The typecode.
 * @typeParam R The raw object it wraps.
 */
export abstract class SynchronizedBase<
  T extends Typecode = Typecode,
  R extends RawBase<T> = RawBase<T>,
> {
  /** What `getObj()` gives (an array's proxy) and what crosses. */
  #raw: R;
  /** The raw object itself: calling it skips the proxy's trap. */
  #direct: R;
  #lock: Lock | RLock | null;
  #kind: Kind;
  #id: string;

  /**
   * Makes one of this class in the receiving process, over the raw object
   * and lock its `[kShare]()` described (the registry of shareable classes
   * calls it).
   *
   * @param data The descriptor's data.
   * @param id The descriptor's id.
   * @returns The primitive.
   */
  static [kRevive](data: unknown, id: string): unknown {
    const d = data as { raw: unknown; lock: unknown };
    const raw = decodeShared(d.raw);
    const lock = decodeShared(d.lock);
    // This base's constructor with the subclass as `new.target`: the
    // subclass's own constructor makes a new raw object and lock.
    return Reflect.construct(SynchronizedBase, [raw, lock, id], this);
  }

  /**
   * @param raw The raw object.
   * @param lock Its lock, or `null`.
   * @param id The id of one that crossed; a new one when omitted.
   * @ignore
   */
  protected constructor(raw: R, lock: Lock | RLock | null, id?: string) {
    this.#raw = raw;
    this.#direct = targetOf(raw);
    this.#lock = lock;
    this.#kind = kindOf(new.target);
    this.#id = id ?? newShareId();
    return finish(this, this.#kind, this.#id, id !== undefined);
  }

  /**
   * The raw object itself, for the subclasses to delegate to.
   *
   * @ignore
   */
  protected get [kRaw](): R {
    return this.#direct;
  }

  /** The typecode it was made with. */
  get typecode(): T {
    return this.#direct.typecode;
  }

  /**
   * The lock that guards the data (Python's `get_lock()`).
   *
   * @returns The lock.
   * @throws {TypeError} When it was made with `{ lock: false }`.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const v = new mp.Value("i", 0);
   * console.log(v.getLock() instanceof mp.RLock); // true
   * console.log(new mp.Array("i", 1).getLock().locked()); // false
   * ```
   */
  getLock(): Lock | RLock {
    if (this.#lock === null) {
      throw new TypeError(
        `Cannot get the lock: this ${this.#kind.name} was made with { lock: false }`,
      );
    }
    return this.#lock;
  }

  /**
   * The unsynchronized object underneath (Python's `get_obj()`): the same
   * memory, without the lock.
   *
   * @returns The raw value or array.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.Value("i", 7).getObj().value); // 7
   * console.log(new mp.Array("i", [5]).getObj()[0]); // 5
   * ```
   */
  getObj(): R {
    return this.#raw;
  }

  /**
   * Describes it (its memory and its lock) for another process.
   *
   * @returns The share descriptor.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    return {
      tag: this.#kind.tag,
      id: this.#id,
      data: { raw: encodeShared(this.#raw), lock: encodeShared(this.#lock) },
    };
  }

  /**
   * How `console.log` shows it: `Value('i', 5)`, `Array('i', [1])`.
   *
   * @param inspectFn Deno's inspect.
   * @param options Deno's inspect options.
   * @returns The text.
   */
  [inspect](
    inspectFn?: (value: unknown, options?: unknown) => string,
    options?: unknown,
  ): string {
    return describe(this.#kind, this.#direct[kCells], inspectFn, options);
  }
}
