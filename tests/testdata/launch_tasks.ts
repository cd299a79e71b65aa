// Pool tasks for tests/launch_test.ts. This module imports nothing of the
// library: a worker that runs them loads only what it needs, and the
// primitives they are given must arrive working all the same.

/** What these tasks use of a `Value`. */
interface Counter {
  value: number;
  getLock(): { lockSync(): Disposable };
}

/** Adds `n` to `v` under its lock; returns the new value. */
export function addTo(v: Counter, n: number): number {
  using _ = v.getLock().lockSync();
  v.value += n;
  return v.value;
}

let kept: Counter | undefined;

/** An initializer: keeps `v` for {@linkcode addToKept}. */
export function keep(v: Counter): void {
  kept = v;
}

/** Adds `n` to the value the initializer kept. */
export function addToKept(n: number): number {
  return addTo(kept!, n);
}

/** Returns `x`: a task that takes plain values only. */
export function echo<T>(x: T): T {
  return x;
}
