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

import { Lock, RLock } from "./synchronize.ts";
import {
  decodeShared,
  encodeShared,
  kShare,
  newShareId,
  registerShareable,
  rememberShared,
} from "./_common/transfer.ts";

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

// --- Element access -----------------------------------------------------

/** Reads and writes the elements of one typecode, each atomically. */
interface Cells {
  get(i: number): unknown;
  set(i: number, v: unknown): void;
}

// Floats have no `Atomics`; they are moved through an integer of the same
// size, so a read never sees half of a concurrent write. Each isolate is
// single-threaded, so one scratch buffer per module is safe.
const scratch = new ArrayBuffer(8);
const sF64 = new Float64Array(scratch);
const sI64 = new BigInt64Array(scratch);
const sF32 = new Float32Array(scratch);
const sI32 = new Int32Array(scratch);

type IntView =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

function badValue(code: Typecode, want: string, v: unknown): TypeError {
  const shown = typeof v === "string" ? `'${v}'` : String(v);
  return new TypeError(
    `Cannot store ${shown} in typecode '${code}': expected ${want}`,
  );
}

class IntCells implements Cells {
  #view: IntView;
  #code: Typecode;
  constructor(view: IntView, code: Typecode) {
    this.#view = view;
    this.#code = code;
  }
  get(i: number): number {
    return Atomics.load(this.#view, i);
  }
  set(i: number, v: unknown): void {
    if (typeof v !== "number" || !Number.isInteger(v)) {
      throw badValue(this.#code, "an integer number", v);
    }
    Atomics.store(this.#view, i, v);
  }
}

class BigCells implements Cells {
  #view: BigInt64Array | BigUint64Array;
  #code: Typecode;
  constructor(view: BigInt64Array | BigUint64Array, code: Typecode) {
    this.#view = view;
    this.#code = code;
  }
  get(i: number): bigint {
    return Atomics.load(this.#view, i);
  }
  set(i: number, v: unknown): void {
    if (typeof v === "number" && Number.isInteger(v)) v = BigInt(v);
    if (typeof v !== "bigint") {
      throw badValue(this.#code, "a bigint or an integer number", v);
    }
    Atomics.store(this.#view, i, v);
  }
}

class F32Cells implements Cells {
  #view: Int32Array;
  constructor(view: Int32Array) {
    this.#view = view;
  }
  get(i: number): number {
    sI32[0] = Atomics.load(this.#view, i);
    return sF32[0];
  }
  set(i: number, v: unknown): void {
    if (typeof v !== "number") throw badValue("f", "a number", v);
    sF32[0] = v;
    Atomics.store(this.#view, i, sI32[0]);
  }
}

class F64Cells implements Cells {
  #view: BigInt64Array;
  constructor(view: BigInt64Array) {
    this.#view = view;
  }
  get(i: number): number {
    sI64[0] = Atomics.load(this.#view, i);
    return sF64[0];
  }
  set(i: number, v: unknown): void {
    if (typeof v !== "number") throw badValue("d", "a number", v);
    sF64[0] = v;
    Atomics.store(this.#view, i, sI64[0]);
  }
}

/** The byte of a `c` element, from a 1-byte array or a Latin-1 char. */
function charByte(v: unknown): number {
  if (v instanceof Uint8Array && v.length === 1) return v[0];
  if (typeof v === "string" && v.length === 1 && v.charCodeAt(0) <= 255) {
    return v.charCodeAt(0);
  }
  throw badValue(
    "c",
    "a one-byte Uint8Array or a one-character Latin-1 string",
    v,
  );
}

class CharCells implements Cells {
  #view: Uint8Array;
  constructor(view: Uint8Array) {
    this.#view = view;
  }
  get(i: number): Uint8Array {
    return Uint8Array.of(Atomics.load(this.#view, i));
  }
  set(i: number, v: unknown): void {
    Atomics.store(this.#view, i, charByte(v));
  }
}

const SIZES: Record<Typecode, number> = {
  b: 1,
  B: 1,
  h: 2,
  H: 2,
  i: 4,
  I: 4,
  l: 4,
  L: 4,
  q: 8,
  Q: 8,
  f: 4,
  d: 8,
  c: 1,
};

const CODES = Object.keys(SIZES).map((c) => `'${c}'`).join(", ");

function checkTypecode(typecode: unknown, what: string): Typecode {
  if (typeof typecode !== "string" || !Object.hasOwn(SIZES, typecode)) {
    const shown = typeof typecode === "string"
      ? `'${typecode}'`
      : String(typecode);
    throw new TypeError(
      `Cannot make ${what}: unknown typecode ${shown}; use one of ${CODES}`,
    );
  }
  return typecode as Typecode;
}

function makeCells(code: Typecode, buf: SharedArrayBuffer): Cells {
  switch (code) {
    case "b":
      return new IntCells(new Int8Array(buf), code);
    case "B":
      return new IntCells(new Uint8Array(buf), code);
    case "h":
      return new IntCells(new Int16Array(buf), code);
    case "H":
      return new IntCells(new Uint16Array(buf), code);
    case "i":
    case "l":
      return new IntCells(new Int32Array(buf), code);
    case "I":
    case "L":
      return new IntCells(new Uint32Array(buf), code);
    case "q":
      return new BigCells(new BigInt64Array(buf), code);
    case "Q":
      return new BigCells(new BigUint64Array(buf), code);
    case "f":
      return new F32Cells(new Int32Array(buf));
    case "d":
      return new F64Cells(new BigInt64Array(buf));
    case "c":
      return new CharCells(new Uint8Array(buf));
  }
}

/** The lock a synchronized value uses, from its `lock` option. */
function lockFrom(
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

function noLock(what: string): TypeError {
  return new TypeError(
    `Cannot get the lock: this ${what} was made with { lock: false }`,
  );
}

/** Revived state handed to a constructor (see `synchronize.ts`). */
let adopting: unknown;

function adopt<T>(): T | undefined {
  const a = adopting as T | undefined;
  adopting = undefined;
  return a;
}

function revive<T>(state: unknown, make: () => T): T {
  adopting = state;
  try {
    return make();
  } finally {
    adopting = undefined;
  }
}

const inspect: unique symbol = Symbol.for("Deno.customInspect");

type InspectFn = (value: unknown, options?: unknown) => string;

function show(
  inspectFn: InspectFn | undefined,
  options: unknown,
  v: unknown,
): string {
  return inspectFn ? inspectFn(v, options) : String(v);
}

// --- RawValue and Value -------------------------------------------------

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
export class RawValue<T extends Typecode = Typecode> {
  #code: T;
  #buf: SharedArrayBuffer;
  #cells: Cells;
  #id: string;

  static {
    registerShareable("mp.RawValue", (data, id) => {
      const d = data as { code: Typecode; buf: SharedArrayBuffer };
      return revive({ buf: d.buf, id }, () => new RawValue(d.code));
    });
  }

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
    const a = adopt<{ buf: SharedArrayBuffer; id: string }>();
    this.#code = checkTypecode(typecode, "a RawValue") as T;
    this.#buf = a?.buf ?? new SharedArrayBuffer(SIZES[typecode]);
    this.#cells = makeCells(typecode, this.#buf);
    if (a === undefined && initial !== undefined) this.#cells.set(0, initial);
    this.#id = a?.id ?? newShareId();
    rememberShared("mp.RawValue", this.#id, this);
  }

  /** The typecode the value was made with. */
  get typecode(): T {
    return this.#code;
  }

  /** The current value (an atomic read or write). */
  get value(): TypecodeValue<T> {
    return this.#cells.get(0) as TypecodeValue<T>;
  }
  set value(v: TypecodeInput<T>) {
    this.#cells.set(0, v);
  }

  /**
   * Describes the value for another process.
   *
   * @returns The share descriptor.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    return {
      tag: "mp.RawValue",
      id: this.#id,
      data: { code: this.#code, buf: this.#buf },
    };
  }

  /**
   * How `console.log` shows the value.
   *
   * @param inspectFn Deno's inspect.
   * @param options Deno's inspect options.
   * @returns The text.
   */
  [inspect](
    inspectFn?: (value: unknown, options?: unknown) => string,
    options?: unknown,
  ): string {
    return `RawValue('${this.#code}', ${show(inspectFn, options, this.value)})`;
  }
}

/**
 * One number in shared memory with a lock (Python's
 * `multiprocessing.Value`). Each read or write of `.value` is atomic; to
 * read-modify-write (`v.value += 1`) from several processes, hold
 * {@linkcode Value.getLock} around it.
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
export class Value<T extends Typecode = Typecode> {
  #raw: RawValue<T>;
  #lock: Lock | RLock | null;
  #id: string;

  static {
    registerShareable("mp.Value", (data, id) => {
      const d = data as { raw: unknown; lock: unknown };
      const raw = decodeShared(d.raw) as RawValue;
      const lock = decodeShared(d.lock) as Lock | RLock | null;
      return revive({ raw, lock, id }, () => new Value(raw.typecode));
    });
  }

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
    const a = adopt<
      { raw: RawValue<T>; lock: Lock | RLock | null; id: string }
    >();
    if (a !== undefined) {
      this.#raw = a.raw;
      this.#lock = a.lock;
    } else {
      checkTypecode(typecode, "a Value");
      this.#lock = lockFrom(options?.lock, "a Value");
      this.#raw = new RawValue(typecode, initial);
    }
    this.#id = a?.id ?? newShareId();
    rememberShared("mp.Value", this.#id, this);
  }

  /** The typecode the value was made with. */
  get typecode(): T {
    return this.#raw.typecode;
  }

  /** The current value (an atomic read or write; the lock is not taken). */
  get value(): TypecodeValue<T> {
    return this.#raw.value;
  }
  set value(v: TypecodeInput<T>) {
    this.#raw.value = v;
  }

  /**
   * The lock that guards the value (Python's `get_lock()`).
   *
   * @returns The lock.
   * @throws {TypeError} When the value was made with `{ lock: false }`.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const v = new mp.Value("i", 0);
   * console.log(v.getLock() instanceof mp.RLock); // true
   * ```
   */
  getLock(): Lock | RLock {
    if (this.#lock === null) throw noLock("Value");
    return this.#lock;
  }

  /**
   * The unsynchronized value underneath (Python's `get_obj()`): the same
   * memory, without the lock.
   *
   * @returns The raw value.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const v = new mp.Value("i", 7);
   * console.log(v.getObj().value); // 7
   * ```
   */
  getObj(): RawValue<T> {
    return this.#raw;
  }

  /**
   * Describes the value (its memory and its lock) for another process.
   *
   * @returns The share descriptor.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    return {
      tag: "mp.Value",
      id: this.#id,
      data: { raw: encodeShared(this.#raw), lock: encodeShared(this.#lock) },
    };
  }

  /**
   * How `console.log` shows the value.
   *
   * @param inspectFn Deno's inspect.
   * @param options Deno's inspect options.
   * @returns The text.
   */
  [inspect](
    inspectFn?: (value: unknown, options?: unknown) => string,
    options?: unknown,
  ): string {
    return `Value('${this.typecode}', ${show(inspectFn, options, this.value)})`;
  }
}

// --- RawArray and Array ---------------------------------------------------

/**
 * The index named by a property key, or `undefined` for other keys. It
 * parses by hand: this runs on every property access of an array, and
 * `String(Number(p)) === p` would allocate a string each time.
 */
function toIndex(p: string | symbol): number | undefined {
  if (typeof p !== "string") return undefined;
  const len = p.length;
  let i = 0;
  if (len > 0 && p.charCodeAt(0) === 45) i = 1; // "-"
  if (i >= len || len - i > 15) return undefined;
  const first = p.charCodeAt(i);
  // Only canonical integers: no leading zeros, no "-0".
  if (first < 48 || first > 57 || (first === 48 && (len > i + 1 || i === 1))) {
    return undefined;
  }
  let n = 0;
  for (; i < len; i++) {
    const c = p.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    n = n * 10 + (c - 48);
  }
  return p.charCodeAt(0) === 45 ? -n : n;
}

/** The real object behind each array proxy, for calls that skip the trap. */
const targets = new WeakMap<object, object>();

interface Indexable {
  get(i: number): unknown;
  set(i: number, v: unknown): void;
  readonly length: number;
}

/**
 * Wraps an array object so that `a[i]` reads and `a[i] = v` writes element
 * `i`. Methods are bound to the real object, because `#private` fields
 * cannot be reached through a proxy as `this`.
 */
function indexed<A extends Indexable>(target: A): A {
  const bound = new Map<string | symbol, unknown>();
  const proxy = new Proxy(target, {
    get(t, p) {
      const i = toIndex(p);
      if (i !== undefined) return t.get(i);
      const v = Reflect.get(t, p, t);
      if (typeof v !== "function" || p === "constructor") return v;
      let b = bound.get(p);
      if (b === undefined) {
        b = (v as (...args: unknown[]) => unknown).bind(t);
        bound.set(p, b);
      }
      return b;
    },
    set(t, p, v) {
      const i = toIndex(p);
      if (i === undefined) return Reflect.set(t, p, v, t);
      t.set(i, v);
      return true;
    },
    has(t, p) {
      const i = toIndex(p);
      if (i === undefined) return Reflect.has(t, p);
      return i >= 0 && i < t.length;
    },
  });
  targets.set(proxy, target);
  return proxy;
}

/** The elements an initializer gives, checked against the typecode. */
function initialValues(
  code: Typecode,
  init: unknown,
  what: string,
): unknown[] | number {
  if (typeof init === "number") {
    if (!Number.isInteger(init) || init < 0) {
      throw new RangeError(
        `Cannot make ${what}: the size must be a non-negative integer, got ${init}`,
      );
    }
    return init;
  }
  if (code === "c" && typeof init === "string") return [...init];
  if (code === "c" && init instanceof Uint8Array) {
    return Array.from(init, (b) => Uint8Array.of(b));
  }
  if (
    init !== null && typeof init === "object" &&
    typeof (init as Iterable<unknown>)[Symbol.iterator] === "function"
  ) {
    return Array.from(init as Iterable<unknown>);
  }
  throw new TypeError(
    `Cannot make ${what}: 'sizeOrInitializer' must be a size or an iterable of values, got ${
      String(init)
    }`,
  );
}

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
export class RawArray<T extends Typecode = Typecode>
  implements Iterable<TypecodeValue<T>> {
  /** Element `index` (negative counts from the end). */
  [index: number]: TypecodeValue<T>;
  #code: T;
  #buf: SharedArrayBuffer;
  #cells: Cells;
  #length: number;
  #id: string;

  static {
    registerShareable("mp.RawArray", (data, id) => {
      const d = data as { code: Typecode; buf: SharedArrayBuffer };
      return revive({ buf: d.buf, id }, () => new RawArray(d.code, 0));
    });
  }

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
    sizeOrInitializer:
      | number
      | string
      | Uint8Array
      | Iterable<TypecodeInput<T>>,
  ) {
    const a = adopt<{ buf: SharedArrayBuffer; id: string }>();
    this.#code = checkTypecode(typecode, "a RawArray") as T;
    const size = SIZES[typecode];
    if (a !== undefined) {
      this.#buf = a.buf;
      this.#length = a.buf.byteLength / size;
      this.#cells = makeCells(typecode, this.#buf);
    } else {
      const init = initialValues(typecode, sizeOrInitializer, "a RawArray");
      this.#length = typeof init === "number" ? init : init.length;
      this.#buf = new SharedArrayBuffer(this.#length * size);
      this.#cells = makeCells(typecode, this.#buf);
      if (typeof init !== "number") {
        for (let i = 0; i < init.length; i++) this.#cells.set(i, init[i]);
      }
    }
    this.#id = a?.id ?? newShareId();
    const proxy = indexed(this);
    rememberShared("mp.RawArray", this.#id, proxy);
    // Return the proxy so that `a[i]` works on what `new` gives back.
    return proxy;
  }

  /** The typecode the array was made with. */
  get typecode(): T {
    return this.#code;
  }

  /** The number of elements (fixed). */
  get length(): number {
    return this.#length;
  }

  #at(i: number, action: string): number {
    if (!Number.isInteger(i)) {
      throw new TypeError(`Cannot ${action} index ${i}: not an integer`);
    }
    const j = i < 0 ? i + this.#length : i;
    if (j < 0 || j >= this.#length) {
      throw new RangeError(
        `Cannot ${action} index ${i}: the array has length ${this.#length}`,
      );
    }
    return j;
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
    return this.#cells.get(this.#at(i, "read")) as TypecodeValue<T>;
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
    this.#cells.set(this.#at(i, "write"), v);
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
    for (let i = 0; i < this.#length; i++) {
      yield this.#cells.get(i) as TypecodeValue<T>;
    }
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
    const n = this.#length;
    const clamp = (x: number) =>
      Math.min(n, Math.max(0, x < 0 ? x + n : Math.trunc(x)));
    const from = start === undefined ? 0 : clamp(start);
    const to = end === undefined ? n : clamp(end);
    const out: TypecodeValue<T>[] = [];
    for (let i = from; i < to; i++) {
      out.push(this.#cells.get(i) as TypecodeValue<T>);
    }
    return out;
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

  /**
   * Describes the array for another process.
   *
   * @returns The share descriptor.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    return {
      tag: "mp.RawArray",
      id: this.#id,
      data: { code: this.#code, buf: this.#buf },
    };
  }

  /**
   * How `console.log` shows the array.
   *
   * @param inspectFn Deno's inspect.
   * @param options Deno's inspect options.
   * @returns The text.
   */
  [inspect](
    inspectFn?: (value: unknown, options?: unknown) => string,
    options?: unknown,
  ): string {
    return `RawArray('${this.#code}', ${
      show(inspectFn, options, this.toArray())
    })`;
  }
}

/**
 * A fixed-length array of numbers in shared memory with a lock (Python's
 * `multiprocessing.Array`). Exported from `mod.ts` as `Array`: use it as
 * `mp.Array` after `import * as mp`, so the global `Array` stays as it is.
 * `a[i]` and `a.get(i)` read, `a[i] = v` and `a.set(i, v)` write, each
 * atomically; hold {@linkcode SharedArray.getLock} around a
 * read-modify-write such as `a[i] += 1`.
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
 * ```
 */
export class SharedArray<T extends Typecode = Typecode>
  implements Iterable<TypecodeValue<T>> {
  /** Element `index` (negative counts from the end). */
  [index: number]: TypecodeValue<T>;
  /** The raw array's proxy (what `getObj()` gives and what crosses). */
  #raw: RawArray<T>;
  /** The raw array itself: calling it skips the proxy's trap. */
  #direct: RawArray<T>;
  #lock: Lock | RLock | null;
  #id: string;

  static {
    registerShareable("mp.Array", (data, id) => {
      const d = data as { raw: unknown; lock: unknown };
      const raw = decodeShared(d.raw) as RawArray;
      const lock = decodeShared(d.lock) as Lock | RLock | null;
      return revive({ raw, lock, id }, () => new SharedArray(raw.typecode, 0));
    });
  }

  /**
   * Makes a shared array with a lock.
   *
   * @param typecode The element type (see the module doc).
   * @param sizeOrInitializer A length (all zeros), or the elements; for
   * `c` also a string (Latin-1) or a `Uint8Array`.
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
    sizeOrInitializer:
      | number
      | string
      | Uint8Array
      | Iterable<TypecodeInput<T>>,
    options?: SharedValueOptions,
  ) {
    const a = adopt<
      { raw: RawArray<T>; lock: Lock | RLock | null; id: string }
    >();
    if (a !== undefined) {
      this.#raw = a.raw;
      this.#lock = a.lock;
    } else {
      checkTypecode(typecode, "an Array");
      this.#lock = lockFrom(options?.lock, "an Array");
      this.#raw = new RawArray(typecode, sizeOrInitializer);
    }
    this.#direct = targets.get(this.#raw) as RawArray<T>;
    this.#id = a?.id ?? newShareId();
    const proxy = indexed(this);
    rememberShared("mp.Array", this.#id, proxy);
    // Return the proxy so that `a[i]` works on what `new` gives back.
    return proxy;
  }

  /** The typecode the array was made with. */
  get typecode(): T {
    return this.#direct.typecode;
  }

  /** The number of elements (fixed). */
  get length(): number {
    return this.#direct.length;
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
   * console.log(new mp.Array("i", [1, 2]).get(0)); // 1
   * ```
   */
  get(i: number): TypecodeValue<T> {
    return this.#direct.get(i);
  }

  /**
   * Writes element `i` atomically.
   *
   * @param i The index; negative counts from the end.
   * @param v The new element.
   * @throws {RangeError} When `i` is out of range.
   * @throws {TypeError} When `i` is not an integer or `v` does not fit.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const a = new mp.Array("q", 1);
   * a.set(0, 2n ** 40n);
   * console.log(a[0]); // 1099511627776n
   * ```
   */
  set(i: number, v: TypecodeInput<T>): void {
    this.#direct.set(i, v);
  }

  /**
   * Iterates over the elements (each read when reached).
   *
   * @returns An iterator of the elements.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log([...new mp.Array("i", [1, 2])]); // [1, 2]
   * ```
   */
  [Symbol.iterator](): IterableIterator<TypecodeValue<T>> {
    return this.#direct[Symbol.iterator]();
  }

  /**
   * Copies elements `start` to `end` into a plain JS array (Python's
   * `a[start:end]`).
   *
   * @param start First index; `0` when omitted; negative counts from the
   * end.
   * @param end Index after the last; the length when omitted.
   * @returns The elements.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.Array("i", [1, 2, 3]).slice(1)); // [2, 3]
   * ```
   */
  slice(start?: number, end?: number): TypecodeValue<T>[] {
    return this.#direct.slice(start, end);
  }

  /**
   * Copies every element into a plain JS array (read one by one: hold the
   * lock for a consistent snapshot).
   *
   * @returns The elements.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.Array("c", "hi").toArray().length); // 2
   * ```
   */
  toArray(): TypecodeValue<T>[] {
    return this.#direct.toArray();
  }

  /**
   * The lock that guards the array (Python's `get_lock()`).
   *
   * @returns The lock.
   * @throws {TypeError} When the array was made with `{ lock: false }`.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.Array("i", 1).getLock().locked()); // false
   * ```
   */
  getLock(): Lock | RLock {
    if (this.#lock === null) throw noLock("Array");
    return this.#lock;
  }

  /**
   * The unsynchronized array underneath (Python's `get_obj()`).
   *
   * @returns The raw array: the same memory, without the lock.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const a = new mp.Array("i", [5]);
   * console.log(a.getObj()[0]); // 5
   * ```
   */
  getObj(): RawArray<T> {
    return this.#raw;
  }

  /**
   * Describes the array (its memory and its lock) for another process.
   *
   * @returns The share descriptor.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    return {
      tag: "mp.Array",
      id: this.#id,
      data: { raw: encodeShared(this.#raw), lock: encodeShared(this.#lock) },
    };
  }

  /**
   * How `console.log` shows the array.
   *
   * @param inspectFn Deno's inspect.
   * @param options Deno's inspect options.
   * @returns The text.
   */
  [inspect](
    inspectFn?: (value: unknown, options?: unknown) => string,
    options?: unknown,
  ): string {
    return `Array('${this.typecode}', ${
      show(inspectFn, options, this.toArray())
    })`;
  }
}

export { SharedArray as Array };
