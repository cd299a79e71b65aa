/**
 * Functions the synchronization and shared-value tests run inside worker
 * processes. Each one reports what it saw through shared memory (a
 * `Value` or `Array` passed in), so the test can check it after `join()`.
 *
 * @module
 */

import {
  type Array as SharedArray,
  type Barrier,
  type Condition,
  Event,
  type Lock,
  type RLock,
  type Semaphore,
  type Value,
} from "../../mod.ts";

/** Blocks this thread for `ms` milliseconds. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Adds 1 to `value` `n` times, each under the value's own lock. */
export function incrementMany(value: Value<"i">, n: number): void {
  const lock = value.getLock();
  for (let i = 0; i < n; i++) {
    lock.acquireSync();
    value.value += 1;
    lock.release();
  }
}

/** Like {@linkcode incrementMany}, with the async `lock()` guard. */
export async function incrementManyAsync(
  value: Value<"i">,
  n: number,
): Promise<void> {
  for (let i = 0; i < n; i++) {
    using _held = await value.getLock().lock();
    value.value += 1;
  }
}

/** Adds 1 to `value` `n` times with no lock (loses updates under contention). */
export function incrementUnlocked(value: Value<"i">, n: number): void {
  for (let i = 0; i < n; i++) value.value += 1;
}

/** Adds `k + 1` to element `k` of `arr`, `rounds` times, under its lock. */
export function bumpArray(arr: SharedArray<"q">, rounds: number): void {
  const lock = arr.getLock();
  for (let r = 0; r < rounds; r++) {
    using _held = lock.lockSync();
    for (let k = 0; k < arr.length; k++) arr[k] += BigInt(k + 1);
  }
}

/**
 * Enters `sem` `rounds` times; inside, counts itself in `stats[0]` and
 * keeps the highest count seen in `stats[1]` (both under `statsLock`).
 */
export function semaphoreWorker(
  sem: Semaphore,
  stats: SharedArray<"i">,
  rounds: number,
  start: Barrier,
): void {
  const statsLock = stats.getLock();
  // Workers start one after another; begin together so they contend.
  start.waitSync(30);
  for (let r = 0; r < rounds; r++) {
    using _slot = sem.lockSync();
    statsLock.acquireSync();
    stats[0] += 1;
    if (stats[0] > stats[1]) stats[1] = stats[0];
    statsLock.release();
    sleepSync(2);
    statsLock.acquireSync();
    stats[0] -= 1;
    statsLock.release();
  }
}

/**
 * Passes `barrier` `rounds` times. Before each wait it counts itself in
 * `arrived[round]`; after it, everyone must have arrived, or it counts a
 * violation in `report[0]`. The arrival indexes are summed in `report[1]`.
 */
export function barrierWorker(
  barrier: Barrier,
  arrived: SharedArray<"i">,
  report: SharedArray<"i">,
  rounds: number,
): void {
  const lock = arrived.getLock();
  for (let r = 0; r < rounds; r++) {
    lock.acquireSync();
    arrived[r] += 1;
    lock.release();
    const index = barrier.waitSync(10);
    lock.acquireSync();
    if (arrived[r] !== barrier.parties) report[0] += 1;
    report[1] += index;
    lock.release();
  }
}

/** The async twin of {@linkcode barrierWorker}, with `await wait()`. */
export async function barrierWorkerAsync(
  barrier: Barrier,
  arrived: SharedArray<"i">,
  report: SharedArray<"i">,
  rounds: number,
): Promise<void> {
  const lock = arrived.getLock();
  for (let r = 0; r < rounds; r++) {
    lock.acquireSync();
    arrived[r] += 1;
    lock.release();
    const index = await barrier.wait(10);
    lock.acquireSync();
    if (arrived[r] !== barrier.parties) report[0] += 1;
    report[1] += index;
    lock.release();
  }
}

/** Waits at `barrier`; records 1 in `out` when it broke, 0 when it passed. */
export function barrierExpectBroken(barrier: Barrier, out: Value<"i">): void {
  try {
    barrier.waitSync(10);
    out.value = 0;
  } catch (err) {
    out.value = (err as Error).name === "BrokenBarrierError" ? 1 : 2;
  }
}

/**
 * Consumer: takes `want` items from `items` (a count of what is
 * available), waiting on `cond` when there is none. Adds what it took to
 * `taken`.
 */
export function consume(
  cond: Condition,
  items: Value<"i">,
  taken: Value<"i">,
  want: number,
): void {
  for (let k = 0; k < want; k++) {
    using _held = cond.lockSync();
    if (!cond.waitForSync(() => items.value > 0, 10)) {
      throw new Error("Cannot consume: no item came within 10s");
    }
    items.value -= 1;
    taken.value += 1;
  }
}

/** The async twin of {@linkcode consume}. */
export async function consumeAsync(
  cond: Condition,
  items: Value<"i">,
  taken: Value<"i">,
  want: number,
): Promise<void> {
  for (let k = 0; k < want; k++) {
    using _held = await cond.lock();
    if (!(await cond.waitFor(() => items.value > 0, 10))) {
      throw new Error("Cannot consume: no item came within 10s");
    }
    items.value -= 1;
    taken.value += 1;
  }
}

/** Producer: adds `count` items one by one, notifying one consumer each. */
export function produce(
  cond: Condition,
  items: Value<"i">,
  count: number,
): void {
  for (let k = 0; k < count; k++) {
    using _held = cond.lockSync();
    items.value += 1;
    cond.notify();
  }
}

/**
 * Waits once on `cond` (plain `waitSync`, no predicate); records 1 in
 * `woken` if notified, and counts itself in `ready` before waiting.
 */
export function waitOnce(
  cond: Condition,
  ready: Value<"i">,
  woken: Value<"i">,
  timeout: number,
): void {
  using _held = cond.lockSync();
  ready.value += 1;
  if (cond.waitSync(timeout)) woken.value += 1;
}

/** Waits for `event` with `timeout`; records 1 (set) or 0 (timed out). */
export async function waitEvent(
  event: Event,
  timeout: number,
  out: Value<"i">,
): Promise<void> {
  out.value = (await event.wait(timeout)) ? 1 : 0;
}

/** Tries to release a lock this process does not hold; records the error. */
export function releaseForeign(lock: Lock | RLock, out: Value<"i">): void {
  try {
    lock.release();
    out.value = 0;
  } catch (err) {
    out.value = (err as Error).name === "ValueError" ? 1 : 2;
  }
}

/** Acquires `lock`, says so through `held`, then hangs until terminated. */
export function holdForever(lock: Lock | RLock, held: Event): void {
  lock.acquireSync();
  held.set();
  // Blocked in a library wait, which a stop request ends (a raw
  // Atomics.wait would not: a worker thread is not stopped inside it).
  new Event().waitSync();
}

/**
 * Acquires `lock` (waiting at most `timeout` s); writes `[acquired,
 * ownerDied]` as 0/1 into `out`, then releases.
 */
export async function acquireAndReport(
  lock: Lock | RLock,
  timeout: number,
  out: SharedArray<"i">,
): Promise<void> {
  const ok = await lock.acquire({ timeout });
  out[0] = ok ? 1 : 0;
  out[1] = lock.ownerDied ? 1 : 0;
  if (ok) lock.release();
}

/**
 * Seeds' ticket sale: buys one ticket from the JSON file at `path`
 * (`{ "stock": n, "sold": m }`), guarded by `lock` when one is given.
 * The pause between reading and writing is where buyers race.
 */
export async function buyTicket(
  path: string,
  lock: Lock | null,
): Promise<void> {
  const guard = lock === null ? undefined : await lock.lock();
  try {
    const state = JSON.parse(await Deno.readTextFile(path)) as {
      stock: number;
      sold: number;
    };
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (state.stock > 0) {
      state.stock -= 1;
      state.sold += 1;
      await Deno.writeTextFile(path, JSON.stringify(state));
    }
  } finally {
    guard?.release();
  }
}

/**
 * Records in `out` whether `a` and `nested.inner` arrived as one object
 * (1), and whether both work on the same memory as the sender's (the
 * test checks the value the sender sees afterwards).
 */
export function sameObject(
  a: Value<"i">,
  nested: { inner: Value<"i">[] },
  out: Value<"i">,
): void {
  out.value = a === nested.inner[0] ? 1 : 0;
  a.value = 41;
  nested.inner[0].value += 1;
}

/**
 * Benchmark: `n` acquire/release rounds of `lock` between barriers
 * `start` and `end`; counts in `stats[0]` the acquires that took the lock
 * from the other worker (hand-offs).
 */
export function contend(
  lock: Lock,
  last: Value<"i">,
  stats: SharedArray<"i">,
  n: number,
  id: number,
  start: Barrier,
  end: Barrier,
): void {
  let handoffs = 0;
  start.waitSync();
  for (let i = 0; i < n; i++) {
    lock.acquireSync();
    if (last.value !== id) {
      handoffs++;
      last.value = id;
    }
    lock.release();
  }
  using _held = stats.getLock().lockSync();
  stats[0] += handoffs;
  _held.release();
  end.waitSync();
}

/**
 * Benchmark: `n` strict hand-offs: take `mine`, give `theirs`. Two workers
 * with swapped semaphores alternate exactly.
 */
export function pingPong(
  mine: Semaphore,
  theirs: Semaphore,
  n: number,
  start: Barrier,
  end: Barrier,
): void {
  start.waitSync();
  for (let i = 0; i < n; i++) {
    mine.acquireSync();
    theirs.release();
  }
  end.waitSync();
}
