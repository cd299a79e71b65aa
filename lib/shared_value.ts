/**
 * Numbers and arrays of numbers in shared memory (Python's
 * `multiprocessing.Value`, `Array`, `RawValue` and `RawArray`). Pass one to
 * a `Process` or a pool task and every process reads and writes the same
 * memory.
 *
 * Import the module as a namespace: its `Array` would shadow the global
 * `Array` if imported by name.
 *
 * ```ts ignore
 * import * as mp from "@seed/multiprocessing";
 * const counts = new mp.Array("i", 8); // not the global Array
 * ```
 *
 * Type codes are those of Python's `array` module:
 *
 * | code | C type             | bytes | JS value                |
 * | ---- | ------------------ | ----- | ----------------------- |
 * | `b`  | signed char        | 1     | `number`                |
 * | `B`  | unsigned char      | 1     | `number`                |
 * | `h`  | short              | 2     | `number`                |
 * | `H`  | unsigned short     | 2     | `number`                |
 * | `i`  | int                | 4     | `number`                |
 * | `I`  | unsigned int       | 4     | `number`                |
 * | `l`  | long               | 4     | `number`                |
 * | `L`  | unsigned long      | 4     | `number`                |
 * | `q`  | long long          | 8     | `bigint`                |
 * | `Q`  | unsigned long long | 8     | `bigint`                |
 * | `f`  | float              | 4     | `number`                |
 * | `d`  | double             | 8     | `number`                |
 * | `c`  | char               | 1     | `Uint8Array` of 1 byte  |
 *
 * `l`/`L` are 4 bytes here (the size Python's `array` module guarantees,
 * and the size on Windows), not 8 as in CPython on 64-bit Linux: a JS
 * `number` holds every 32-bit integer exactly, so they stay `number`. Use
 * `q`/`Q` for 64 bits. Integers wrap on overflow, as in `ctypes`.
 *
 * `c` reads as a one-byte `Uint8Array` (Python's `bytes`); it is written
 * with a one-byte `Uint8Array` or a one-character string whose code is at
 * most 255 (Latin-1).
 *
 * Every single read or write of an element is atomic, also for `q`, `Q`,
 * `f` and `d` (no torn values), without taking the lock. A
 * read-modify-write such as `v.value += 1` is two operations: hold the
 * lock around it (`using _ = await v.getLock().lock()`), or it loses
 * updates under contention, exactly as in Python.
 *
 * @module
 */

import type { Lock, RLock } from "./synchronize.ts";
import { checkTypecode, newArrayCells, newValueCells } from "./_value/cells.ts";
import { lockFrom, RawBase, SynchronizedBase } from "./_value/base.ts";
import {
  ARRAY,
  kCells,
  type Kind,
  kKind,
  kRaw,
  RAW_ARRAY,
  RAW_VALUE,
  VALUE,
} from "./_value/kinds.ts";

export { RawBase, SynchronizedBase };

/** A type code of Python's `array` module (see the module doc). */
export type Typecode =
  | "b"
  | "B"
  | "h"
  | "H"
  | "i"
  | "I"
  | "l"
  | "L"
  | "q"
  | "Q"
  | "f"
  | "d"
  | "c";

/** What an element of typecode `T` reads as. */
export type TypecodeValue<T extends Typecode> = T extends "q" | "Q" ? bigint
  : T extends "c" ? Uint8Array
  : number;

/** What an element of typecode `T` may be written with. */
export type TypecodeInput<T extends Typecode> = T extends "q" | "Q"
  ? bigint | number
  : T extends "c" ? Uint8Array | string
  : number;

/**
 * What makes an array of typecode `T`: a length (all zeros), or the
 * elements; for `c` also a string (Latin-1) or a `Uint8Array`.
 */
export type SizeOrInitializer<T extends Typecode> =
  | number
  | string
  | Uint8Array
  | Iterable<TypecodeInput<T>>;

/** Options of {@linkcode Value} and {@linkcode Array}. */
export interface SharedValueOptions {
  /**
   * The lock that guards the data: `true` makes a new {@linkcode RLock},
   * `false` makes none (then `getLock()` throws), or pass a `Lock` or
   * `RLock` to share one among several values.
   *
   * @default {true}
   */
  lock?: boolean | Lock | RLock;
}

// --- RawValue and Value ---------------------------------------------------

/**
 * One number in shared memory, without a lock (Python's
 * `multiprocessing.RawValue`). Each read or write of `.value` is atomic;
 * anything more needs a lock of your own.
 *
 * @typeParam T The typecode.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 *
 * const flag = new mp.RawValue("b", 0);
 * flag.value = 1;
 * console.log(flag.value); // 1
 * ```
 */
export class RawValue<T extends Typecode = Typecode> extends RawBase<T> {
  /** @ignore */
  protected static readonly [kKind]: Kind = RAW_VALUE;

  /**
   * Makes a shared number.
   *
   * @param typecode The element type (see the module doc).
   * @param initial The first value; zero (`0`, `0n`, byte 0) when omitted.
   * @throws {TypeError} When `typecode` is unknown (the message lists the
   * valid ones), or `initial` does not fit it.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.RawValue("q", 5n).value); // 5n
   * ```
   */
  constructor(typecode: T, initial?: TypecodeInput<T>) {
    super(newValueCells(checkTypecode(typecode, "a RawValue"), initial));
  }

  /** The current value (an atomic read or write). */
  get value(): TypecodeValue<T> {
    return this[kCells].get(0) as TypecodeValue<T>;
  }
  set value(v: TypecodeInput<T>) {
    this[kCells].set(0, v);
  }
}

/**
 * One number in shared memory with a lock (Python's
 * `multiprocessing.Value`). Each read or write of `.value` is atomic; to
 * read-modify-write (`v.value += 1`) from several processes, hold
 * {@linkcode SynchronizedBase.getLock} around it.
 *
 * @typeParam T The typecode.
 *
 * @example A counter updated under its lock
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 *
 * const counter = new mp.Value("i", 0);
 * {
 *   using _held = await counter.getLock().lock();
 *   counter.value += 1;
 * }
 * console.log(counter.value); // 1
 * ```
 */
export class Value<T extends Typecode = Typecode>
  extends SynchronizedBase<T, RawValue<T>> {
  /** @ignore */
  protected static readonly [kKind]: Kind = VALUE;

  /**
   * Makes a shared number with a lock.
   *
   * @param typecode The element type (see the module doc).
   * @param initial The first value; zero when omitted.
   * @param options The `lock` to use.
   * @throws {TypeError} When `typecode` is unknown (the message lists the
   * valid ones), `initial` does not fit it, or `lock` is not a lock.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const lock = new mp.Lock();
   * const a = new mp.Value("d", 1.5, { lock });
   * const b = new mp.Value("d", 2.5, { lock });
   * console.log(a.getLock() === b.getLock()); // true
   * ```
   */
  constructor(
    typecode: T,
    initial?: TypecodeInput<T>,
    options?: SharedValueOptions,
  ) {
    checkTypecode(typecode, "a Value");
    const lock = lockFrom(options?.lock, "a Value");
    super(new RawValue(typecode, initial), lock);
  }

  /** The current value (an atomic read or write; the lock is not taken). */
  get value(): TypecodeValue<T> {
    return this[kRaw].value;
  }
  set value(v: TypecodeInput<T>) {
    this[kRaw].value = v;
  }
}

// --- RawArray and Array ---------------------------------------------------

/**
 * A fixed-length array of numbers in shared memory, without a lock
 * (Python's `multiprocessing.RawArray`). `a[i]` and `a.get(i)` read element
 * `i` (negative `i` counts from the end), `a[i] = v` and `a.set(i, v)`
 * write it; each access is atomic.
 *
 * @typeParam T The typecode.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 *
 * const a = new mp.RawArray("d", [0.5, 1.5]);
 * a[1] = 2.5;
 * console.log(a[1], a.length, [...a]); // 2.5 2 [0.5, 2.5]
 * ```
 */
export class RawArray<T extends Typecode = Typecode> extends RawBase<T>
  implements Iterable<TypecodeValue<T>> {
  /** Element `index` (negative counts from the end). */
  [index: number]: TypecodeValue<T>;

  /** @ignore */
  protected static readonly [kKind]: Kind = RAW_ARRAY;

  /**
   * Makes a shared array.
   *
   * @param typecode The element type (see the module doc).
   * @param sizeOrInitializer A length (all zeros), or the elements; for
   * `c` also a string (Latin-1) or a `Uint8Array`.
   * @throws {TypeError} When `typecode` is unknown (the message lists the
   * valid ones) or an element does not fit it.
   * @throws {RangeError} When the size is negative or not an integer.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.RawArray("i", 3).toArray()); // [0, 0, 0]
   * ```
   */
  constructor(
    typecode: T,
    sizeOrInitializer: SizeOrInitializer<T>,
  ) {
    const code = checkTypecode(typecode, "a RawArray");
    super(newArrayCells(code, sizeOrInitializer, "a RawArray"));
  }

  /** The number of elements (fixed). */
  get length(): number {
    return this[kCells].length;
  }

  /**
   * Reads element `i` atomically.
   *
   * @param i The index; negative counts from the end.
   * @returns The element.
   * @throws {RangeError} When `i` is out of range.
   * @throws {TypeError} When `i` is not an integer.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.RawArray("i", [1, 2, 3]).get(-1)); // 3
   * ```
   */
  get(i: number): TypecodeValue<T> {
    const c = this[kCells];
    return c.get(c.index(i, "read")) as TypecodeValue<T>;
  }

  /**
   * Writes element `i` atomically.
   *
   * @param i The index; negative counts from the end.
   * @param v The new element.
   * @throws {RangeError} When `i` is out of range.
   * @throws {TypeError} When `i` is not an integer or `v` does not fit
   * the typecode.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const a = new mp.RawArray("i", 2);
   * a.set(0, 9);
   * console.log(a[0]); // 9
   * ```
   */
  set(i: number, v: TypecodeInput<T>): void {
    const c = this[kCells];
    c.set(c.index(i, "write"), v);
  }

  /**
   * Iterates over the elements (each read when reached).
   *
   * @returns An iterator of the elements.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * for (const x of new mp.RawArray("i", [1, 2])) console.log(x);
   * ```
   */
  *[Symbol.iterator](): IterableIterator<TypecodeValue<T>> {
    const c = this[kCells];
    for (let i = 0; i < c.length; i++) yield c.get(i) as TypecodeValue<T>;
  }

  /**
   * Copies elements `start` to `end` into a plain JS array (Python's
   * `a[start:end]`; negative indexes count from the end).
   *
   * @param start First index; `0` when omitted.
   * @param end Index after the last; the length when omitted.
   * @returns The elements.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.RawArray("i", [1, 2, 3, 4]).slice(1, -1)); // [2, 3]
   * ```
   */
  slice(start?: number, end?: number): TypecodeValue<T>[] {
    return this[kCells].slice(start, end) as TypecodeValue<T>[];
  }

  /**
   * Copies every element into a plain JS array. Elements are read one by
   * one: hold a lock for a consistent snapshot.
   *
   * @returns The elements.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.RawArray("B", [1, 2]).toArray()); // [1, 2]
   * ```
   */
  toArray(): TypecodeValue<T>[] {
    return this.slice();
  }
}

/**
 * A fixed-length array of numbers in shared memory with a lock (Python's
 * `multiprocessing.Array`). Exported from `mod.ts` as `Array`: use it as
 * `mp.Array` after `import * as mp`, so the global `Array` stays as it is.
 * `a[i]` and `a.get(i)` read, `a[i] = v` and `a.set(i, v)` write, each
 * atomically; hold {@linkcode SynchronizedBase.getLock} around a
 * read-modify-write such as `a[i] += 1`. Its elements behave as those of
 * the {@linkcode RawArray} it wraps.
 *
 * @typeParam T The typecode.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 *
 * const hist = new mp.Array("i", 4);
 * {
 *   using _held = await hist.getLock().lock();
 *   hist[2] += 1;
 * }
 * console.log(hist.toArray()); // [0, 0, 1, 0]
 * console.log(hist.get(-1), hist.slice(1, 3), [...hist].length); // 0 [0, 1] 4
 * ```
 */
export class SharedArray<T extends Typecode = Typecode>
  extends SynchronizedBase<T, RawArray<T>>
  implements Iterable<TypecodeValue<T>> {
  /** @ignore */
  protected static readonly [kKind]: Kind = ARRAY;

  /** Element `index`, as in the {@linkcode RawArray} it wraps. */
  [index: number]: TypecodeValue<T>;

  /**
   * Makes a shared array with a lock.
   *
   * @param typecode The element type (see the module doc).
   * @param sizeOrInitializer The length or the elements, as for a
   * {@linkcode RawArray}.
   * @param options The `lock` to use.
   * @throws {TypeError} When `typecode` is unknown (the message lists the
   * valid ones), an element does not fit it, or `lock` is not a lock.
   * @throws {RangeError} When the size is negative or not an integer.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const a = new mp.Array("i", [3, 1, 2], { lock: false });
   * console.log(a.length); // 3
   * ```
   */
  constructor(
    typecode: T,
    sizeOrInitializer: SizeOrInitializer<T>,
    options?: SharedValueOptions,
  ) {
    checkTypecode(typecode, "an Array");
    const lock = lockFrom(options?.lock, "an Array");
    super(new RawArray(typecode, sizeOrInitializer), lock);
  }

  /** The number of elements (fixed). */
  get length(): number {
    return this[kRaw].length;
  }

  /** Reads element `i` atomically: {@linkcode RawArray.get}. */
  get(i: number): TypecodeValue<T> {
    return this[kRaw].get(i);
  }

  /** Writes element `i` atomically: {@linkcode RawArray.set}. */
  set(i: number, v: TypecodeInput<T>): void {
    this[kRaw].set(i, v);
  }

  /** Iterates over the elements, each read when reached. */
  [Symbol.iterator](): IterableIterator<TypecodeValue<T>> {
    return this[kRaw][Symbol.iterator]();
  }

  /** Copies elements `start` to `end`: {@linkcode RawArray.slice}. */
  slice(start?: number, end?: number): TypecodeValue<T>[] {
    return this[kRaw].slice(start, end);
  }

  /** Copies every element: {@linkcode RawArray.toArray}. */
  toArray(): TypecodeValue<T>[] {
    return this[kRaw].toArray();
  }
}

export { SharedArray as Array };
