/**
 * Targets that import nothing, not even the library: the primitives they
 * get must work all the same (the entries import the registry of
 * shareable classes, not `mod.ts`).
 *
 * @module
 */

/** Adds 1 to a shared value under its lock, `times` times. */
export async function bump(
  v: {
    value: number;
    getLock(): { lock(): Promise<Disposable> };
  },
  times: number,
): Promise<void> {
  for (let i = 0; i < times; i++) {
    using _held = await v.getLock().lock();
    v.value += 1;
  }
}

/** Sets every element of a shared array to its index. */
export function fill(a: { length: number; set(i: number, v: number): void }) {
  for (let i = 0; i < a.length; i++) a.set(i, i);
}
