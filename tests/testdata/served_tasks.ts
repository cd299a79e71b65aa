// Targets and tasks for tests/served_test.ts: what a "subprocess" child
// does with primitives its parent serves it.
import * as mp from "../../mod.ts";

/** Adds 1 to `v` `n` times, each under `lock` taken with `lockSync`. */
export function countSync(lock: mp.Lock, v: mp.Value<"i">, n: number): void {
  for (let i = 0; i < n; i++) {
    using _held = lock.lockSync();
    v.value = v.value + 1;
  }
}

/** Adds 1 to `v` `n` times under its own lock, taken with `await lock()`. */
export async function countAsync(v: mp.Value<"i">, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    using _held = await v.getLock().lock();
    v.value += 1;
  }
}

/** Puts `[id, i]` for i < n, alternating `put` and `putSync`. */
export async function produce(
  q: mp.Queue<[number, number]>,
  id: number,
  n: number,
): Promise<void> {
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) await q.put([id, i]);
    else q.putSync([id, i]);
  }
}

/** Gets numbers until `null`, then puts their count and sum on `out`. */
export async function consume(
  q: mp.Queue<number | null>,
  out: mp.Queue<[number, number]>,
): Promise<void> {
  let count = 0;
  let sum = 0;
  while (true) {
    const item = count % 2 === 0 ? q.getSync() : await q.get();
    if (item === null) break;
    count++;
    sum += item;
  }
  await out.put([count, sum]);
}

/** Reports the error classes a child sees, as `[name, instanceof]` pairs. */
export async function errorsSeen(
  empty: mp.Queue<number>,
  full: mp.Queue<number>,
  held: mp.Lock,
  broken: mp.Barrier,
  out: mp.Queue<unknown>,
): Promise<void> {
  const seen: [string, boolean][] = [];
  try {
    empty.getNowait();
  } catch (e) {
    seen.push([(e as Error).name, e instanceof mp.Empty]);
  }
  try {
    await full.put(1, { timeout: 0.05 });
  } catch (e) {
    seen.push([(e as Error).name, e instanceof mp.Full]);
  }
  try {
    broken.waitSync();
  } catch (e) {
    seen.push([(e as Error).name, e instanceof mp.BrokenBarrierError]);
  }
  try {
    held.lockSync({ timeout: 0.05 });
  } catch (e) {
    seen.push([(e as Error).name, e instanceof mp.TimeoutError]);
  }
  await out.put({
    seen,
    acquired: held.acquireSync({ timeout: 0.05 }),
    classes: [
      empty instanceof mp.Queue,
      held instanceof mp.Lock,
      broken instanceof mp.Barrier,
    ],
  });
}

/** Takes `rlock` twice, reports, waits for `go`, releases twice. */
export async function holdRLock(
  rlock: mp.RLock,
  holding: mp.Event,
  go: mp.Event,
): Promise<void> {
  await rlock.acquire();
  rlock.acquireSync();
  holding.set();
  await go.wait();
  rlock.release();
  rlock.release();
}

/** Tries `rlock` as another child; reports what it saw on `out`. */
export async function tryRLock(
  rlock: mp.RLock,
  out: mp.Queue<unknown>,
): Promise<void> {
  const early = rlock.acquireSync({ timeout: 0.1 });
  let releaseError = "";
  try {
    rlock.release();
  } catch (e) {
    releaseError = (e as Error).message;
  }
  await out.put({ early, releaseError });
}

/** Takes `lock`, says so, and waits to be killed. */
export async function holdUntilKilled(
  lock: mp.Lock,
  holding: mp.Event,
): Promise<void> {
  await lock.acquire();
  holding.set();
  await new Promise(() => {});
}

/**
 * Waits at `barrier`, then for `event`, then for `cond` to see `v >= 2`
 * (`waitFor`) and `v >= 3` (`waitForSync`).
 */
export async function waiter(
  barrier: mp.Barrier,
  event: mp.Event,
  cond: mp.Condition,
  v: mp.Value<"i">,
  out: mp.Queue<unknown>,
): Promise<void> {
  const index = barrier.waitSync(10);
  const set = event.waitSync(10);
  const seen = await (async () => {
    using _held = await cond.lock();
    // Both of the stand-in's waitFor loops (they run here, in the child),
    // each waiting for a notification of the parent's.
    const two = await cond.waitFor(() => v.value >= 2, 10);
    return two && cond.waitForSync(() => v.value >= 3, 10) && v.value;
  })();
  await out.put({ index, set, seen, parties: barrier.parties });
}

/** Holds one of `sem`'s slots for a moment, counting holders in `now`. */
export async function useSlot(
  sem: mp.Semaphore,
  now: mp.Value<"i">,
  peak: mp.Value<"i">,
): Promise<void> {
  for (let round = 0; round < 3; round++) {
    using _slot = await sem.lock();
    {
      using _held = now.getLock().lockSync();
      now.value += 1;
      if (now.value > peak.value) peak.value = now.value;
    }
    await new Promise((r) => setTimeout(r, 20));
    using _held = now.getLock().lockSync();
    now.value -= 1;
  }
}

/** Answers each message on `conn` with `[it, "pong"]` until EOF. */
export async function echo(conn: mp.Connection): Promise<void> {
  while (true) {
    let msg: unknown;
    try {
      msg = conn.recvSync();
    } catch (e) {
      if (e instanceof mp.EOFError) break;
      throw e;
    }
    await conn.send([msg, "pong"]);
  }
}

/** Echoes `n` messages on `conn`, with the blocking twins or awaiting. */
export async function echoN(
  conn: mp.Connection,
  n: number,
  blocking: boolean,
): Promise<void> {
  for (let i = 0; i < n; i++) {
    if (blocking) conn.sendSync(conn.recvSync());
    else await conn.send(await conn.recv());
  }
}

/** Doubles every element of `a` through index access; reports on `out`. */
export async function doubleAll(
  a: mp.Array<"d">,
  out: mp.Queue<unknown>,
): Promise<void> {
  for (let i = 0; i < a.length; i++) a[i] = a[i] * 2;
  await out.put({
    length: a.length,
    typecode: a.typecode,
    iterated: [...a],
    slice: a.slice(1, 3),
  });
}

/** Gets items until `null`, calling `taskDone` for each. */
export async function drain(
  q: mp.JoinableQueue<number | null>,
  seen: mp.Value<"i">,
): Promise<void> {
  while (true) {
    const item = await q.get();
    if (item !== null) {
      using _held = seen.getLock().lockSync();
      seen.value += item;
    }
    q.taskDone();
    if (item === null) break;
  }
}

/** Echoes items from a SimpleQueue to another, until `null`. */
export function relay(
  from: mp.SimpleQueue<unknown>,
  to: mp.SimpleQueue<unknown>,
): void {
  while (true) {
    const item = from.getSync();
    to.putSync(item);
    if (item === null) break;
  }
}

/** A pool task: adds `n` to `v` under its lock and returns the new value. */
export function addTo(v: mp.Value<"i">, n: number): number {
  using _held = v.getLock().lockSync();
  v.value += n;
  return v.value;
}

/** A pool task that returns what it was given. */
export function same(x: unknown): unknown {
  return x;
}

let initQueue: mp.Queue<number> | undefined;

/** A pool initializer that keeps a queue for later tasks. */
export function keepQueue(q: mp.Queue<number>): void {
  initQueue = q;
}

/** A pool task that puts `n` on the initializer's queue. */
export function putOnInitQueue(n: number): void {
  initQueue!.putSync(n);
}

/** Closes its own handle of `q` and reports whether it can still put. */
export async function closeOwnHandle(q: mp.Queue<number>): Promise<void> {
  await q.put(1);
  q.close();
  let refused = false;
  try {
    await q.put(2);
  } catch (e) {
    refused = e instanceof mp.ValueError;
  }
  if (!refused) throw new Error("a closed handle still took an item");
}

/** Tries to pass a served lock on to a "subprocess" child of its own. */
export function passOn(lock: mp.Lock, out: mp.Queue<string>): void {
  const p = new mp.Process({
    target: countSync,
    args: [lock, new mp.Value("i", 0), 1],
    startMethod: "subprocess",
  });
  try {
    p.start();
    out.putSync("started");
  } catch (e) {
    out.putSync((e as Error).message);
  }
}

/**
 * Leaves a call waiting in the parent, says so on `out` (the parent runs
 * a child's async calls in the order sent), and waits to be killed.
 */
export async function leaveWaiting(
  what: "get" | "recv" | "acquire" | "semaphore",
  // deno-lint-ignore no-explicit-any
  target: any,
  out: mp.Queue<string>,
): Promise<void> {
  const pending = what === "get"
    ? target.get()
    : what === "recv"
    ? target.recv()
    : target.acquire();
  pending.catch(() => {});
  await out.put("waiting");
  await new Promise(() => {});
}

/** Holds `lock` from when it sets `held` until `go` is set. */
export async function holdUntil(
  lock: mp.Lock,
  held: mp.Event,
  go: mp.Event,
): Promise<void> {
  await lock.acquire();
  held.set();
  await go.wait();
  lock.release();
}
