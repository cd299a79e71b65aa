/**
 * A map chunk as one column: how the items of a `map` chunk, and the
 * results that come back, cross between processes cheaply.
 *
 * Structured clone walks an array item by item, on both sides of the
 * message, and `encodeShared`'s search for primitives walks it
 * once more. For a chunk whose items are all numbers, this module packs
 * them into the bytes of a `Float64Array` instead: one 8-byte write an
 * item, and the message carries one buffer: shared memory on the way to
 * a worker thread, moved on the way back. A `Float64Array` holds every JavaScript number exactly
 * (`-0`, `NaN` and the infinities included), so nothing is lost.
 *
 * A chunk of other primitives (strings, booleans, `null`, bigints …)
 * holds no shareable primitive: it crosses as it is, without the walk.
 * Only arrays this module's callers made themselves come here (a chunk
 * sliced from the caller's items, a worker's array of results), so they
 * have no properties besides their items.
 *
 * @module
 */

/** Chunks shorter than this cross as arrays: packing would not pay. */
const MIN_COLUMN = 16;

/**
 * A map chunk's items `from` to `to` (excluded), packed in a
 * `Float64Array` over shared memory of their own, when every one is a
 * number. A worker thread reads them where they are (no copy); a
 * `"subprocess"` child gets a copy; the task keeps them for a worker
 * that takes it over.
 *
 * @param items A map's items.
 * @param from The first item.
 * @param to After the last item.
 * @returns The numbers, or `null` when an item is not a number (a hole
 *   counts as `undefined`) or there are few.
 */
export function packNumbers(
  items: ArrayLike<unknown>,
  from: number,
  to: number,
): Float64Array<SharedArrayBuffer> | null {
  if (!worthPacking(items, from, to)) return null;
  const column = new Float64Array(new SharedArrayBuffer((to - from) * 8));
  return fill(column, items, from) ? column : null;
}

/**
 * A chunk's results as a worker collects them: in a `Float64Array` while
 * they are numbers (its buffer, exactly theirs, is then moved to the
 * parent), in an array from the first that is not.
 */
export class ChunkResults {
  #numbers: Float64Array<ArrayBuffer> | null;
  #values: unknown[] | null;

  /** @param length The chunk's items. */
  constructor(length: number) {
    const pack = length >= MIN_COLUMN;
    this.#numbers = pack ? new Float64Array(length) : null;
    this.#values = pack ? null : new Array(length);
  }

  /**
   * Sets a result.
   *
   * @param i Its item's place in the chunk.
   * @param v The result.
   */
  set(i: number, v: unknown): void {
    const numbers = this.#numbers;
    if (numbers !== null) {
      if (typeof v === "number") {
        numbers[i] = v;
        return;
      }
      // The first that is not a number: the rest go in an array.
      const values = new Array(numbers.length);
      for (let j = 0; j < i; j++) values[j] = numbers[j];
      this.#values = values;
      this.#numbers = null;
    }
    this.#values![i] = v;
  }

  /** The results: packed numbers, or an array. */
  get packed(): Float64Array<ArrayBuffer> | null {
    return this.#numbers;
  }

  /** The results as an array, when they are not {@linkcode packed}. */
  get values(): unknown[] | null {
    return this.#values;
  }
}

function worthPacking(
  items: ArrayLike<unknown>,
  from: number,
  to: number,
): boolean {
  return to - from >= MIN_COLUMN && typeof items[from] === "number";
}

/** Copies the items into `column`; `false` at the first that is not a number. */
function fill(
  column: Float64Array,
  items: ArrayLike<unknown>,
  from: number,
): boolean {
  for (let i = 0; i < column.length; i++) {
    const v = items[from + i];
    if (typeof v !== "number") return false;
    column[i] = v;
  }
  return true;
}

/**
 * Whether no item is an object: such a chunk holds no shareable
 * primitive, and can cross without looking for one.
 *
 * @param items A chunk's items, or a chunk's results.
 * @returns Whether every item is a primitive value (or a function, which
 *   cannot hold a primitive either).
 */
export function allPrimitive(items: ArrayLike<unknown>): boolean {
  for (let i = 0; i < items.length; i++) {
    const v = items[i];
    if (v !== null && typeof v === "object") return false;
  }
  return true;
}
