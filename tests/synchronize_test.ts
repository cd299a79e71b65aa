import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import * as mp from "../mod.ts";
import { joinAll, starter } from "./testdata/helpers.ts";
import { delay } from "@std/async/delay";

const TASKS = new URL("./testdata/sync_tasks.ts", import.meta.url).href;

/** Starts a process running `name` from `sync_tasks.ts`. */
const start = starter(TASKS);

/** Waits until `check()` is true, polling; fails after `seconds`. */
async function until(check: () => boolean, seconds = 10): Promise<void> {
  const end = performance.now() + seconds * 1000;
  while (!check()) {
    if (performance.now() > end) throw new Error("Condition never held");
    await new Promise((r) => setTimeout(r, 5));
  }
}

// --- Lock ---------------------------------------------------------------

Deno.test("Lock.acquire() is exclusive, non-blocking and timed", async () => {
  const lock = new mp.Lock();
  assertEquals(lock.locked(), false);
  assertEquals(await lock.acquire(), true);
  assertEquals(lock.locked(), true);
  assertEquals(await lock.acquire({ block: false }), false);
  const t0 = performance.now();
  assertEquals(await lock.acquire({ timeout: 0.05 }), false);
  assert(performance.now() - t0 >= 45);
  assertEquals(lock.acquireSync({ timeout: 0.01 }), false);
  lock.release();
  assertEquals(lock.locked(), false);
  assertEquals(lock.acquireSync({ block: false }), true);
  lock.release();
});

Deno.test("Lock.release() of an unlocked lock is a ValueError", () => {
  const lock = new mp.Lock();
  assertThrows(() => lock.release(), mp.ValueError, "not locked");
});

Deno.test("Lock.acquireSync() refuses to deadlock on a lock this process holds", () => {
  const lock = new mp.Lock();
  lock.acquireSync();
  assertThrows(() => lock.acquireSync(), Error, "would wait forever");
  lock.release();
});

Deno.test("Lock.acquire() hands the lock between async tasks of one process", async () => {
  const lock = new mp.Lock();
  const order: string[] = [];
  await lock.acquire();
  const second = lock.acquire().then((ok) => {
    order.push("second");
    return ok;
  });
  await new Promise((r) => setTimeout(r, 20));
  order.push("first releases");
  lock.release();
  assertEquals(await second, true);
  assertEquals(order, ["first releases", "second"]);
  lock.release();
});

Deno.test("Lock.lock() returns a guard that releases once", async () => {
  const lock = new mp.Lock();
  {
    using held = await lock.lock();
    assertEquals(held.ownerDied, false);
    assert(lock.locked());
    held.release(); // early; the dispose afterwards does nothing
    assertEquals(lock.locked(), false);
    await lock.acquire();
  }
  assert(lock.locked());
  await assertRejects(
    () => lock.lock({ timeout: 0.01 }),
    mp.TimeoutError,
    "timed out",
  );
  assertThrows(() => lock.lockSync({ timeout: 0.01 }), mp.TimeoutError);
  lock.release();
  {
    lock.acquireSync();
    using _l = lock;
  }
  assertEquals(lock.locked(), false);
});

Deno.test("Lock, RLock and Semaphore reject bad timeouts and block flags, also when they need not wait", async () => {
  for (const p of [new mp.Lock(), new mp.RLock(), new mp.Semaphore(1)]) {
    assertThrows(
      // deno-lint-ignore no-explicit-any
      () => p.acquireSync({ timeout: "1" as any }),
      TypeError,
      `'timeout' must be a number of seconds, got the string "1"`,
    );
    await assertRejects(
      // deno-lint-ignore no-explicit-any
      () => p.acquire({ block: "no" as any }),
      TypeError,
      `'block' must be true or false, got the string "no"`,
    );
    assertThrows(() => p.acquireSync({ timeout: NaN }), TypeError, "NaN");
    // Nothing was taken by the refused calls.
    assertEquals(p.locked(), false);
  }
  // A re-entry checks them too.
  const rlock = new mp.RLock();
  rlock.acquireSync();
  assertThrows(() => rlock.acquireSync({ timeout: NaN }), TypeError, "NaN");
  rlock.release();
  assertEquals(rlock.locked(), false);
});

Deno.test("Lock, RLock and Semaphore share one base, SemLock, as in CPython", () => {
  for (const p of [new mp.Lock(), new mp.RLock(), new mp.BoundedSemaphore()]) {
    assert(p instanceof mp.SemLock);
  }
  assert(!(new mp.RLock() instanceof mp.Lock));
  assert(!(new mp.Lock() instanceof mp.RLock));
});

Deno.test("Negative timeouts do not wait, as in Python: Lock, Semaphore, Event, Condition", async () => {
  const lock = new mp.Lock();
  const t0 = performance.now();
  assertEquals(await lock.acquire({ timeout: -1 }), true);
  assertEquals(await lock.acquire({ timeout: -1 }), false);
  assertEquals(lock.acquireSync({ timeout: -5 }), false);
  // As in Python, the timeout is ignored when block is false.
  assertEquals(lock.acquireSync({ block: false, timeout: 1 }), false);
  await lock.release();
  const sem = new mp.Semaphore(0);
  assertEquals(await sem.acquire({ timeout: -1 }), false);
  assertEquals(sem.acquireSync({ timeout: -1 }), false);
  const ev = new mp.Event();
  assertEquals(await ev.wait(-1), false);
  assertEquals(ev.waitSync(-1), false);
  const cond = new mp.Condition();
  await cond.acquire();
  assertEquals(await cond.wait(-1), false);
  cond.release();
  assert(performance.now() - t0 < 1000, "a negative timeout waited");
});

Deno.test("Lock and Event waits of Infinity or over 2^31 ms wait for the release", async () => {
  const lock = new mp.Lock();
  const ev = new mp.Event();
  for (const timeout of [Infinity, 3e6]) {
    await lock.acquire();
    const got = lock.acquire({ timeout });
    const set = ev.wait(timeout);
    await delay(100);
    await lock.release();
    ev.set();
    assertEquals(await got, true);
    assertEquals(await set, true);
    await lock.release();
    ev.clear();
  }
});

Deno.test("Lock.release() from a process that does not hold it is a ValueError", async () => {
  const lock = new mp.Lock();
  const out = new mp.Value("i", -1);
  await lock.acquire();
  await joinAll([start("releaseForeign", [lock, out])]);
  assertEquals(out.value, 1);
  assert(lock.locked());
  lock.release();
});

Deno.test("Lock held by a terminated process is taken over, with ownerDied", async () => {
  const lock = new mp.Lock();
  const held = new mp.Event();
  const holder = start("holdForever", [lock, held]);
  try {
    assert(await held.wait(10), "the holder never took the lock");
    assertEquals(await lock.acquire({ timeout: 0.1 }), false);
    // A second process is already waiting when the holder dies.
    const out = new mp.Array("i", [-1, -1]);
    const waiter = start("acquireAndReport", [lock, 10, out]);
    await new Promise((r) => setTimeout(r, 100));
    holder.terminate();
    await holder.join();
    assertEquals(holder.exitCode, -15);
    await joinAll([waiter]);
    assertEquals(out.toArray(), [1, 1]);
    // The waiter released it normally: the next acquire is a plain one.
    assertEquals(await lock.acquire({ timeout: 5 }), true);
    assertEquals(lock.ownerDied, false);
    lock.release();
  } finally {
    holder.terminate();
    await holder.join();
  }
});

Deno.test("RLock held by a terminated process is taken over by acquireSync", async () => {
  const rlock = new mp.RLock();
  const held = new mp.Event();
  const holder = start("holdForever", [rlock, held]);
  try {
    assert(await held.wait(10));
  } finally {
    holder.terminate();
    await holder.join();
  }
  assertEquals(rlock.acquireSync({ timeout: 5 }), true);
  assertEquals(rlock.ownerDied, true);
  assertEquals(rlock.acquireSync(), true); // re-entry after takeover
  rlock.release();
  rlock.release();
  assertEquals(rlock.locked(), false);
});

// --- RLock --------------------------------------------------------------

Deno.test("RLock re-enters in its owner and excludes other processes", async () => {
  const rlock = new mp.RLock();
  assert(await rlock.acquire());
  assert(rlock.acquireSync());
  assert(await rlock.acquire({ block: false }));
  const out = new mp.Array("i", [-1, -1]);
  await joinAll([start("acquireAndReport", [rlock, 0.05, out])]);
  assertEquals(out[0], 0, "another process got a held RLock");
  rlock.release();
  rlock.release();
  assert(rlock.locked(), "released too early");
  rlock.release();
  assertEquals(rlock.locked(), false);
  await joinAll([start("acquireAndReport", [rlock, 5, out])]);
  assertEquals(out.toArray(), [1, 0]);
});

Deno.test("RLock.release() by a non-owner or when unlocked is a ValueError", async () => {
  const rlock = new mp.RLock();
  assertThrows(() => rlock.release(), mp.ValueError, "not locked");
  const out = new mp.Value("i", -1);
  rlock.acquireSync();
  await joinAll([start("releaseForeign", [rlock, out])]);
  assertEquals(out.value, 1);
  rlock.release();
});

Deno.test("RLock.lock() guards nest", async () => {
  const rlock = new mp.RLock();
  {
    using _a = await rlock.lock();
    using _b = rlock.lockSync();
    assert(rlock.locked());
  }
  assertEquals(rlock.locked(), false);
});

// --- Semaphore ----------------------------------------------------------

Deno.test("Semaphore counts, times out and releases n", async () => {
  const s = new mp.Semaphore(2);
  assert(await s.acquire());
  assert(s.acquireSync());
  assertEquals(s.getValue(), 0);
  assertEquals(await s.acquire({ block: false }), false);
  assertEquals(s.acquireSync({ timeout: 0.02 }), false);
  assertEquals(await s.acquire({ timeout: 0.02 }), false);
  s.release(2);
  assertEquals(s.getValue(), 2);
  s.release(); // an unbounded semaphore may go above its start
  assertEquals(s.getValue(), 3);
  assertThrows(() => s.release(0), RangeError);
  assertThrows(() => new mp.Semaphore(-1), RangeError);
});

Deno.test("Semaphore.locked() tells whether an acquire would wait; ownerDied stays false", () => {
  const s = new mp.Semaphore(1);
  assertEquals(s.locked(), false);
  s.acquireSync();
  assertEquals(s.locked(), true);
  assertEquals(s.ownerDied, false);
  s.release();
  assertEquals(s.locked(), false);
});

Deno.test("Semaphore.acquire() wakes when another task releases", async () => {
  const s = new mp.Semaphore(0);
  const got = s.acquire({ timeout: 5 });
  setTimeout(() => s.release(), 20);
  assertEquals(await got, true);
});

Deno.test("BoundedSemaphore.release() above its bound is a ValueError", () => {
  const s = new mp.BoundedSemaphore(2);
  s.acquireSync();
  s.release();
  assertThrows(() => s.release(), mp.ValueError, "above its bound 2");
  assertEquals(s.getValue(), 2);
  assert(s instanceof mp.Semaphore);
});

Deno.test("Semaphore(3) lets at most 3 of 8 processes in at once", async () => {
  const sem = new mp.BoundedSemaphore(3);
  const stats = new mp.Array("i", [0, 0]);
  const go = new mp.Barrier(8);
  const ps = Array.from(
    { length: 8 },
    () => start("semaphoreWorker", [sem, stats, 25, go]),
  );
  await joinAll(ps);
  assertEquals(stats[0], 0);
  assert(stats[1] <= 3, `max concurrency was ${stats[1]}`);
  assertEquals(stats[1], 3, `max concurrency was ${stats[1]}`);
  assertEquals(sem.getValue(), 3);
});

// --- Event --------------------------------------------------------------

Deno.test("Event.wait() returns false on timeout and true once set", async () => {
  const e = new mp.Event();
  const t0 = performance.now();
  assertEquals(await e.wait(0.05), false);
  assert(performance.now() - t0 >= 45);
  assertEquals(e.waitSync(0.01), false);
  setTimeout(() => e.set(), 10);
  assertEquals(await e.wait(5), true);
  assert(e.isSet());
  assertEquals(e.waitSync(), true);
  e.clear();
  assertEquals(e.isSet(), false);
});

Deno.test("Event.wait() in other processes: timeout, then set", async () => {
  const e = new mp.Event();
  const timedOut = new mp.Value("i", -1);
  await joinAll([start("waitEvent", [e, 0.05, timedOut])]);
  assertEquals(timedOut.value, 0);
  const outs = [0, 1, 2].map(() => new mp.Value("i", -1));
  const ps = outs.map((out) => start("waitEvent", [e, 10, out]));
  await new Promise((r) => setTimeout(r, 50));
  e.set();
  await joinAll(ps);
  assertEquals(outs.map((o) => o.value), [1, 1, 1]);
});

// --- Condition ----------------------------------------------------------

Deno.test("Condition.wait() needs the lock and returns false on timeout", async () => {
  const cond = new mp.Condition(new mp.Lock());
  await assertRejects(() => cond.wait(0.01), Error, "not held");
  assertThrows(() => cond.notify(), Error, "not held");
  await cond.acquire();
  assertEquals(await cond.wait(0.02), false);
  assert(cond.getLock().locked(), "wait() must take the lock back");
  assertEquals(cond.waitSync(0.01), false);
  assertEquals(await cond.waitFor(() => 0, 0.02), 0);
  assertEquals(cond.waitForSync(() => "ready"), "ready");
  cond.release();
});

Deno.test("Condition over an RLock restores the re-entry depth after wait", async () => {
  const cond = new mp.Condition();
  const rlock = cond.getLock() as mp.RLock;
  cond.acquireSync();
  cond.acquireSync();
  const flag = { set: false };
  setTimeout(async () => {
    using _held = await cond.lock();
    flag.set = true;
    cond.notifyAll();
  }, 10);
  assert(await cond.waitFor(() => flag.set, 5));
  rlock.release();
  assert(rlock.locked(), "the depth was not restored");
  rlock.release();
  assertEquals(rlock.locked(), false);
});

Deno.test("Condition carries items from a producer to 4 consumers across processes", async () => {
  const cond = new mp.Condition(new mp.Lock());
  const items = new mp.Value("i", 0, { lock: false });
  const taken = new mp.Value("i", 0, { lock: false });
  const each = 250;
  const consumers = [
    start("consume", [cond, items, taken, each]),
    start("consume", [cond, items, taken, each]),
    start("consumeAsync", [cond, items, taken, each]),
    start("consumeAsync", [cond, items, taken, each]),
  ];
  const producer = start("produce", [cond, items, each * 4]);
  await joinAll([producer, ...consumers]);
  assertEquals(taken.value, each * 4);
  assertEquals(items.value, 0);
});

Deno.test("Condition.notify(2) wakes exactly 2 of 4 waiting processes", async () => {
  const cond = new mp.Condition();
  const ready = new mp.Value("i", 0, { lock: false });
  const woken = new mp.Value("i", 0, { lock: false });
  const ps = [0, 1, 2, 3].map(() =>
    start("waitOnce", [cond, ready, woken, 10])
  );
  try {
    await until(() => ready.value === 4);
    // Each waiter counted itself while holding the lock, so once we hold
    // it all four are asleep in wait().
    cond.acquireSync();
    cond.notify(2);
    cond.release();
    await until(() => woken.value === 2);
    await new Promise((r) => setTimeout(r, 150));
    assertEquals(woken.value, 2);
    cond.acquireSync();
    cond.notifyAll();
    cond.release();
    await joinAll(ps);
    assertEquals(woken.value, 4);
  } finally {
    for (const p of ps) p.terminate();
    await Promise.all(ps.map((p) => p.join()));
  }
});

// --- Barrier ------------------------------------------------------------

Deno.test("Barrier releases all 4 processes together, 20 rounds", async () => {
  const rounds = 20;
  const barrier = new mp.Barrier(4);
  const arrived = new mp.Array("i", rounds);
  const report = new mp.Array("i", [0, 0]);
  const ps = [
    start("barrierWorker", [barrier, arrived, report, rounds]),
    start("barrierWorker", [barrier, arrived, report, rounds]),
    start("barrierWorkerAsync", [barrier, arrived, report, rounds]),
    start("barrierWorkerAsync", [barrier, arrived, report, rounds]),
  ];
  await joinAll(ps);
  assertEquals(report[0], 0, "a party passed before all arrived");
  assertEquals(report[1], (0 + 1 + 2 + 3) * rounds);
  assertEquals(arrived.toArray(), new Array(rounds).fill(4));
  assertEquals(barrier.nWaiting, 0);
  assertEquals(barrier.broken, false);
});

Deno.test("Barrier.wait() gives each party its own index and runs the action once", async () => {
  let runs = 0;
  const b = new mp.Barrier(3, () => runs++);
  const idx = await Promise.all([b.wait(), b.wait(), b.wait()]);
  assertEquals(idx.sort(), [0, 1, 2]);
  assertEquals(runs, 1);
  assertEquals(b.parties, 3);
  assertThrows(
    () =>
      new mp.Process({ target: { module: TASKS, name: "x" }, args: [b] })
        .start(),
    TypeError,
    "action",
  );
});

/**
 * Starts a process that waits at `b`, runs `meanwhile()` once it waits,
 * and returns how the process's wait ended: 1 broken, 0 passed.
 */
async function waiterOutcome(
  b: mp.Barrier,
  meanwhile: () => void | Promise<void>,
): Promise<number> {
  const out = new mp.Value("i", -1);
  const p = start("barrierExpectBroken", [b, out]);
  await until(() => b.nWaiting === 1);
  await meanwhile();
  await joinAll([p]);
  return out.value;
}

Deno.test("Barrier.abort() breaks a waiting process; reset() mends it", async () => {
  const b = new mp.Barrier(2);
  assertEquals(await waiterOutcome(b, () => b.abort()), 1);
  assertEquals(b.broken, true);
  assertThrows(() => b.waitSync(), mp.BrokenBarrierError);
  b.reset();
  assertEquals(b.broken, false);
  const passed = await waiterOutcome(b, async () => {
    const index = await b.wait(5);
    assert(index === 0 || index === 1);
  });
  assertEquals(passed, 0);
});

Deno.test("Barrier.reset() breaks the parties waiting now", async () => {
  const b = new mp.Barrier(3);
  assertEquals(await waiterOutcome(b, () => b.reset()), 1);
  assertEquals(b.broken, false);
  assertEquals(b.nWaiting, 0);
});

Deno.test("Barrier.abort() and reset() break a wait() just begun in the same process", async () => {
  // Python's threads may abort while another waits; here the async
  // wait() must not hold the barrier's lock where abort() cannot wait.
  const b = new mp.Barrier(2);
  const first = b.wait();
  b.abort();
  await assertRejects(() => first, mp.BrokenBarrierError);
  b.reset();
  const second = b.wait();
  b.reset();
  await assertRejects(() => second, mp.BrokenBarrierError);
  assertEquals(b.broken, false);
  assertEquals((await Promise.all([b.wait(), b.wait()])).sort(), [0, 1]);
  assertEquals(b.nWaiting, 0);
});

Deno.test("Barrier.wait() timeout breaks the barrier", async () => {
  const b = new mp.Barrier(2, null, 0.03);
  await assertRejects(() => b.wait(), mp.BrokenBarrierError, "timed out");
  assertEquals(b.broken, true);
  await assertRejects(() => b.wait(), mp.BrokenBarrierError);
  b.reset();
  assertThrows(() => b.waitSync(0.01), mp.BrokenBarrierError);
  assertThrows(() => new mp.Barrier(0), RangeError);
});

Deno.test("Barrier action that throws breaks the barrier", async () => {
  const b = new mp.Barrier(2, () => {
    throw new Error("boom");
  });
  const results = await Promise.allSettled([b.wait(), b.wait()]);
  const reasons = results.map((r) =>
    r.status === "rejected" ? (r.reason as Error).name : "ok"
  ).sort();
  assertEquals(reasons, ["BrokenBarrierError", "Error"]);
  assert(b.broken);
});

// --- Shared primitives keep their identity -----------------------------

Deno.test("A primitive passed twice arrives as one object and comes back as itself", async () => {
  const v = new mp.Value("i", 0);
  const out = new mp.Value("i", -1);
  await joinAll([start("sameObject", [v, { inner: [v] }, out])]);
  assertEquals(out.value, 1);
  assertEquals(v.value, 42);
});

// --- Seeds' ticket sale -------------------------------------------------

Deno.test("Ticket sale: 50 processes under a Lock sell exactly the stock", async () => {
  const path = await Deno.makeTempFile({ prefix: "mp-tickets-" });
  try {
    await Deno.writeTextFile(path, JSON.stringify({ stock: 30, sold: 0 }));
    const lock = new mp.Lock();
    const ps = Array.from(
      { length: 50 },
      () => start("buyTicket", [path, lock]),
    );
    await joinAll(ps);
    const state = JSON.parse(await Deno.readTextFile(path));
    assertEquals(state, { stock: 0, sold: 30 });
  } finally {
    await Deno.remove(path);
  }
});
