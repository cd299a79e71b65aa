/**
 * The tasks the pool benchmarks time, in one module: workers find them
 * here by reference (the benchmarks pass `module: TASKS`).
 *
 * @module
 */

/** This module's URL, for a pool's `module` option. */
export const TASKS: string = import.meta.url;

/** Spins for about `us` microseconds of real CPU work. */
export function burn(us: number): number {
  const end = performance.now() + us / 1000;
  let x = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) x += Math.sqrt(i + x);
  }
  return x;
}

/** Returns its argument: a task with no work, to time the pool itself. */
export function noop(x: number): number {
  return x;
}

/** A view's byte length: a task whose cost is receiving its argument. */
export function byteLength(v: ArrayBufferView): number {
  return v.byteLength;
}

/** Task sizes in microseconds, smallest first. */
export const SIZES = [10, 100, 1000, 10_000];

/** How a size is named in the benchmark names: `10us`, `1ms`. */
export function sizeLabel(us: number): string {
  return us >= 1000 ? `${us / 1000}ms` : `${us}us`;
}
