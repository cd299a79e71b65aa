/**
 * The elements of one typecode in one SharedArrayBuffer, each read and
 * written atomically: what `RawValue` and `RawArray` hold (a value is one
 * element). The typecodes and their sizes are defined here.
 *
 * @module
 */

import type { Typecode } from "../shared_value.ts";

/** Bytes per element of each typecode. */
export const SIZES: Readonly<Record<Typecode, number>> = {
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

/**
 * Checks a typecode argument.
 *
 * @param typecode The argument.
 * @param what What is being made, for the message ("a Value").
 * @returns The typecode.
 * @throws {TypeError} Listing the valid typecodes.
 */
export function checkTypecode(typecode: unknown, what: string): Typecode {
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

function badValue(code: Typecode, want: string, v: unknown): TypeError {
  const shown = typeof v === "string" ? `'${v}'` : String(v);
  return new TypeError(
    `Cannot store ${shown} in typecode '${code}': expected ${want}`,
  );
}

/** The elements of one typecode in one SharedArrayBuffer. */
export abstract class Cells {
  /** The typecode. */
  readonly code: Typecode;
  /** The memory. */
  readonly buffer: SharedArrayBuffer;
  /** The number of elements (fixed). */
  readonly length: number;

  constructor(code: Typecode, buffer: SharedArrayBuffer) {
    this.code = code;
    this.buffer = buffer;
    this.length = buffer.byteLength / SIZES[code];
  }

  /** Reads element `i` (in range) atomically. */
  abstract get(i: number): unknown;

  /** Writes element `i` (in range) atomically, checking `v` fits. */
  abstract set(i: number, v: unknown): void;

  /**
   * The element an index names: negative counts from the end.
   *
   * @throws {TypeError} When `i` is not an integer.
   * @throws {RangeError} When `i` is out of range.
   */
  index(i: number, action: "read" | "write"): number {
    if (!Number.isInteger(i)) {
      throw new TypeError(`Cannot ${action} index ${i}: not an integer`);
    }
    const j = i < 0 ? i + this.length : i;
    if (j < 0 || j >= this.length) {
      throw new RangeError(
        `Cannot ${action} index ${i}: the array has length ${this.length}`,
      );
    }
    return j;
  }

  /** Elements `start` to `end` (Python's slice bounds), each read atomically. */
  slice(start?: number, end?: number): unknown[] {
    const n = this.length;
    const clamp = (x: number) =>
      Math.min(n, Math.max(0, x < 0 ? x + n : Math.trunc(x)));
    const from = start === undefined ? 0 : clamp(start);
    const to = end === undefined ? n : clamp(end);
    const out: unknown[] = [];
    for (let i = from; i < to; i++) out.push(this.get(i));
    return out;
  }
}

type IntView =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

class IntCells extends Cells {
  #view: IntView;
  constructor(code: Typecode, buffer: SharedArrayBuffer, view: IntView) {
    super(code, buffer);
    this.#view = view;
  }
  get(i: number): number {
    return Atomics.load(this.#view, i);
  }
  set(i: number, v: unknown): void {
    if (typeof v !== "number" || !Number.isInteger(v)) {
      throw badValue(this.code, "an integer number", v);
    }
    Atomics.store(this.#view, i, v);
  }
}

class BigCells extends Cells {
  #view: BigInt64Array | BigUint64Array;
  constructor(code: "q" | "Q", buffer: SharedArrayBuffer) {
    super(code, buffer);
    this.#view = code === "q"
      ? new BigInt64Array(buffer)
      : new BigUint64Array(buffer);
  }
  get(i: number): bigint {
    return Atomics.load(this.#view, i);
  }
  set(i: number, v: unknown): void {
    if (typeof v === "number" && Number.isInteger(v)) v = BigInt(v);
    if (typeof v !== "bigint") {
      throw badValue(this.code, "a bigint or an integer number", v);
    }
    Atomics.store(this.#view, i, v);
  }
}

// Floats have no `Atomics`; they are moved through an integer of the same
// size, so a read never sees half of a concurrent write. Each isolate is
// single-threaded, so one scratch buffer per module is safe.
const scratch = new ArrayBuffer(8);
const sF64 = new Float64Array(scratch);
const sI64 = new BigInt64Array(scratch);
const sF32 = new Float32Array(scratch);
const sI32 = new Int32Array(scratch);

class F32Cells extends Cells {
  #view: Int32Array;
  constructor(buffer: SharedArrayBuffer) {
    super("f", buffer);
    this.#view = new Int32Array(buffer);
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

class F64Cells extends Cells {
  #view: BigInt64Array;
  constructor(buffer: SharedArrayBuffer) {
    super("d", buffer);
    this.#view = new BigInt64Array(buffer);
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

class CharCells extends Cells {
  #view: Uint8Array;
  constructor(buffer: SharedArrayBuffer) {
    super("c", buffer);
    this.#view = new Uint8Array(buffer);
  }
  get(i: number): Uint8Array {
    return Uint8Array.of(Atomics.load(this.#view, i));
  }
  set(i: number, v: unknown): void {
    Atomics.store(this.#view, i, charByte(v));
  }
}

/** The view of each integer typecode (`q`, `Q` are bigints). */
const INT_VIEWS: Readonly<
  Record<string, new (buffer: SharedArrayBuffer) => IntView>
> = {
  b: Int8Array,
  B: Uint8Array,
  h: Int16Array,
  H: Uint16Array,
  i: Int32Array,
  I: Uint32Array,
  l: Int32Array,
  L: Uint32Array,
};

/**
 * The cells of `code` over `buffer` (new or crossed from another process).
 *
 * @param code A checked typecode.
 * @param buffer Its memory: a whole number of elements.
 * @returns The cells.
 */
export function cellsOver(code: Typecode, buffer: SharedArrayBuffer): Cells {
  const Int = INT_VIEWS[code];
  if (Int !== undefined) return new IntCells(code, buffer, new Int(buffer));
  if (code === "q" || code === "Q") return new BigCells(code, buffer);
  if (code === "f") return new F32Cells(buffer);
  if (code === "d") return new F64Cells(buffer);
  return new CharCells(buffer);
}

/**
 * New cells for one value.
 *
 * @param code A checked typecode.
 * @param initial The value; zero when `undefined`.
 * @returns The cells.
 * @throws {TypeError} When `initial` does not fit the typecode.
 */
export function newValueCells(code: Typecode, initial: unknown): Cells {
  const cells = cellsOver(code, new SharedArrayBuffer(SIZES[code]));
  if (initial !== undefined) cells.set(0, initial);
  return cells;
}

/**
 * New cells for an array, from a size (all zeros) or its elements.
 *
 * @param code A checked typecode.
 * @param init A size, or an iterable of elements; for `c` also a string
 *   (Latin-1) or a `Uint8Array`.
 * @param what What is being made, for the messages ("a RawArray").
 * @returns The cells.
 * @throws {RangeError} When the size is negative or not an integer.
 * @throws {TypeError} When `init` is neither, or an element does not fit.
 */
export function newArrayCells(
  code: Typecode,
  init: unknown,
  what: string,
): Cells {
  const values = initialValues(code, init, what);
  const length = typeof values === "number" ? values : values.length;
  const cells = cellsOver(code, new SharedArrayBuffer(length * SIZES[code]));
  if (typeof values !== "number") {
    for (let i = 0; i < values.length; i++) cells.set(i, values[i]);
  }
  return cells;
}

/** The elements an initializer gives, or the size it names. */
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
