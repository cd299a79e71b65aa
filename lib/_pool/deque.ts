/**
 * A double-ended queue on a ring buffer: the pool engine's task queue.
 * New tasks go to the back; tasks a lost or retired worker had in flight
 * go back to the front, in their order; both ends cost O(1) (amortized),
 * where an array would pay a `splice` or `shift` of everything behind.
 *
 * @module
 */

const MIN_CAPACITY = 16;

/** An empty queue whose ring is bigger than this starts small again. */
const SHRINK_ABOVE = 4096;

/**
 * A double-ended queue.
 *
 * @typeParam T The items.
 */
export class Deque<T> {
  #ring: (T | undefined)[] = new Array(MIN_CAPACITY);
  /** Index of the front item. */
  #head = 0;
  #length = 0;

  /** Number of items. */
  get length(): number {
    return this.#length;
  }

  /**
   * Adds an item at the back.
   *
   * @param item The item.
   */
  push(item: T): void {
    if (this.#length === this.#ring.length) this.#grow(this.#length + 1);
    this.#ring[(this.#head + this.#length) & (this.#ring.length - 1)] = item;
    this.#length++;
  }

  /**
   * Puts items back at the front, in their order (the first of `items`
   * becomes the front).
   *
   * @param items The items.
   */
  unshiftAll(items: readonly T[]): void {
    if (this.#length + items.length > this.#ring.length) {
      this.#grow(this.#length + items.length);
    }
    const mask = this.#ring.length - 1;
    for (let i = items.length - 1; i >= 0; i--) {
      this.#head = (this.#head - 1) & mask;
      this.#ring[this.#head] = items[i];
    }
    this.#length += items.length;
  }

  /**
   * The front item, left in place.
   *
   * @returns It, or `undefined` when empty.
   */
  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#ring[this.#head];
  }

  /**
   * Takes the front item.
   *
   * @returns It, or `undefined` when empty.
   */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#ring[this.#head];
    // Not kept alive by the ring.
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#ring.length - 1);
    if (--this.#length === 0 && this.#ring.length > SHRINK_ABOVE) {
      // A burst is over: give its ring back.
      this.#ring = new Array(MIN_CAPACITY);
      this.#head = 0;
    }
    return item;
  }

  /**
   * Takes every item, front first.
   *
   * @returns The items that were queued.
   */
  drain(): T[] {
    const items = [...this];
    this.#ring = new Array(MIN_CAPACITY);
    this.#head = 0;
    this.#length = 0;
    return items;
  }

  /** The items, front first. */
  *[Symbol.iterator](): IterableIterator<T> {
    const mask = this.#ring.length - 1;
    for (let i = 0; i < this.#length; i++) {
      yield this.#ring[(this.#head + i) & mask] as T;
    }
  }

  /** Moves the items to a ring (a power of two) of at least `need` slots. */
  #grow(need: number): void {
    let capacity = this.#ring.length * 2;
    while (capacity < need) capacity *= 2;
    const ring: (T | undefined)[] = new Array(capacity);
    let i = 0;
    for (const item of this) ring[i++] = item;
    this.#ring = ring;
    this.#head = 0;
  }
}
