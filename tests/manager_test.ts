import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertThrows,
} from "@std/assert";
import * as mp from "../mod.ts";
import * as tasks from "./testdata/manager_tasks.ts";
import { joinAll, starter, testdata } from "./testdata/helpers.ts";

const TASKS = testdata("manager_tasks.ts");

/** Starts a process running `name` from `manager_tasks.ts`. */
const start = starter(TASKS);

// --- The seeds' programs -------------------------------------------------

Deno.test("Manager.dict() is filled by 10 processes writing d[i] = 100", async () => {
  await using m = await mp.Manager();
  const d = await m.dict<number, number>();
  const ps = Array.from({ length: 10 }, (_, i) => start("setHundred", [d, i]));
  await joinAll(ps);
  const expected: Record<string, number> = {};
  for (let i = 0; i < 10; i++) expected[i] = 100;
  assertEquals(await d.toObject(), expected);
  assertEquals(await d.size(), 10);
  assertEquals(await d.get(3), 100);
});

Deno.test("Manager.Lock() keeps 100 decrements of a managed count exact", async () => {
  await using m = await mp.Manager();
  const lock = await m.Lock();
  const count = await m.Value("i", 100);
  await using pool = new mp.Pool(4, { module: TASKS });
  const args = Array.from(
    { length: 100 },
    () => [lock, count] as [mp.LockProxy, mp.ValueProxy<number>],
  );
  await pool.starmap(tasks.decrement, args);
  assertEquals(await count.get(), 0);
  assertEquals(await lock.locked(), false);
});

Deno.test("Manager.list() gets an item appended by each of 10 processes", async () => {
  await using m = await mp.Manager();
  const l = await m.list<number>();
  const ps = Array.from({ length: 10 }, (_, i) => start("appendTo", [l, i]));
  await joinAll(ps);
  const items = await l.toArray();
  assertEquals(items.length, 10);
  assertEquals([...items].sort((a, b) => a - b), [...Array(10).keys()]);
});

// --- dict, list, Namespace, Value, Array --------------------------------

Deno.test("DictProxy covers the Map and dict API", async () => {
  await using m = await mp.Manager();
  const d = await m.dict<mp.DictKey, unknown>({ a: 1, b: 2 });
  assertEquals(await d.get("a"), 1);
  assertEquals(await d.get("zz"), undefined);
  assertEquals(await d.get("zz", "dflt"), "dflt");
  await d.set(1, "one");
  await d.set("1", "string one");
  assertEquals(await d.get(1), "one");
  assertEquals(await d.get("1"), "string one");
  assertEquals(await d.has("a"), true);
  assertEquals(await d.has("nope"), false);
  assertEquals(await d.size(), 4);
  assertEquals(await d.keys(), ["a", "b", 1, "1"]);
  assertEquals(await d.values(), [1, 2, "one", "string one"]);
  assertEquals(await d.delete("b"), true);
  assertEquals(await d.delete("b"), false);
  await d.update({ c: 3 });
  await d.update(new Map([[2n, "big"]]));
  await d.update([[true, "yes"], [null, "nil"]]);
  assertEquals(await d.get(2n), "big");
  assertEquals(await d.get(true), "yes");
  assertEquals(await d.get(null), "nil");
  assertEquals(await d.setdefault("c", 99), 3);
  assertEquals(await d.setdefault("e", 5), 5);
  assertEquals(await d.pop("e"), 5);
  assertEquals(await d.pop("e", "gone"), "gone");
  assertEquals(await d.pop("e", undefined), undefined);
  await assertRejects(() => d.pop("e"), RangeError, "not in the dict");
  assertEquals(await d.popitem(), [null, "nil"]);
  const entries: unknown[] = [];
  for await (const e of d) entries.push(e);
  assertEquals(entries, await d.entries());
  assertEquals(await d.items(), await d.entries());
  assertEquals((await d.toMap()).get(1), "one");
  assertEquals((await d.toObject())["1"], "string one");
  await assertRejects(
    () => d.set({} as unknown as string, 1),
    TypeError,
    "dict key",
  );
  await d.clear();
  assertEquals(await d.size(), 0);
  await assertRejects(() => d.popitem(), RangeError, "empty");
});

Deno.test("ListProxy covers the Array and list API", async () => {
  await using m = await mp.Manager();
  const l = await m.list<number>([3, 1, 2]);
  assertEquals(await l.length(), 3);
  assertEquals(await l.get(0), 3);
  assertEquals(await l.get(-1), 2);
  await assertRejects(() => l.get(3), RangeError, "has 3 items");
  await l.set(-1, 20);
  await l.append(4);
  await l.extend([5, 6]);
  await l.insert(0, 0);
  await l.insert(100, 7);
  assertEquals(await l.toArray(), [0, 3, 1, 20, 4, 5, 6, 7]);
  assertEquals(await l.slice(1, 3), [3, 1]);
  assertEquals(await l.slice(-2), [6, 7]);
  assertEquals(await l.index(20), 3);
  await assertRejects(() => l.index(20, 4), mp.ValueError);
  assertEquals(await l.count(5), 1);
  assertEquals(await l.includes(6), true);
  assertEquals(await l.pop(), 7);
  assertEquals(await l.pop(0), 0);
  await l.remove(20);
  await assertRejects(() => l.remove(20), mp.ValueError, "does not hold");
  await l.delete(0);
  assertEquals(await l.toArray(), [1, 4, 5, 6]);
  await l.reverse();
  assertEquals(await l.toArray(), [6, 5, 4, 1]);
  await l.append(10);
  await l.sort();
  assertEquals(await l.toArray(), [1, 4, 5, 6, 10]);
  await l.sort({ reverse: true });
  const seen: number[] = [];
  for await (const x of l) seen.push(x);
  assertEquals(seen, [10, 6, 5, 4, 1]);
  await l.clear();
  await assertRejects(() => l.pop(), RangeError, "empty");
  const objs = await m.list<unknown>([{ a: [1] }]);
  assertEquals(await objs.index({ a: [1] }), 0);
});

Deno.test("NamespaceProxy, ValueProxy and ArrayProxy read and write", async () => {
  await using m = await mp.Manager();
  const ns = await m.Namespace<{ x: number; y?: string }>({ x: 1 });
  assertEquals(await ns.get("x"), 1);
  assertEquals(await ns.get("y"), undefined);
  await ns.set("y", "why");
  await ns.update({ x: 2 });
  assertEquals(await ns.toObject(), { x: 2, y: "why" });
  assertEquals(await ns.has("y"), true);
  assertEquals(await ns.delete("y"), true);
  assertEquals(await ns.keys(), ["x"]);

  const v = await m.Value("d", 1.5);
  assertEquals(await v.get(), 1.5);
  await v.set(2.5);
  assertEquals(await v.get(), 2.5);
  assertEquals(await v.typecode(), "d");
  await assertRejects(() => m.Value("z", 1), TypeError, "typecode");

  const a = await m.Array("i", 3);
  assertEquals(await a.toArray(), [0, 0, 0]);
  await a.set(1, 5);
  assertEquals(await a.get(1), 5);
  assertEquals(await a.length(), 3);
  await assertRejects(() => a.set(3, 1), RangeError);
  const b = await m.Array("q", [1n, 2n]);
  assertEquals(await b.slice(1), [2n]);
});

Deno.test("Manager values keep their types across the wire", async () => {
  await using m = await mp.Manager();
  const d = await m.dict<string, unknown>();
  const value = {
    big: 12345678901234567890n,
    date: new Date(1700000000000),
    map: new Map<unknown, unknown>([[1, "a"], ["k", new Set([1, 2])]]),
    bytes: new Uint8Array([0, 1, 255]),
    floats: new Float64Array([1.5, -2]),
    nothing: undefined,
    nan: NaN,
    inf: -Infinity,
    negZero: -0,
    dollar: { $: "not a tag", v: 1 },
    nested: [[[{ deep: true }]]],
    text: "ünïcödé ✓",
  };
  await d.set("v", value);
  const back = await d.get("v") as typeof value;
  assertEquals(back, value);
  assert(Object.is(back.negZero, -0));
  assertInstanceOf(back.bytes, Uint8Array);
  const proto = JSON.parse('{"__proto__": {"polluted": 1}}');
  await d.set("p", proto);
  const p = await d.get("p") as Record<string, unknown>;
  assertEquals(Object.getPrototypeOf(p), Object.prototype);
  assertEquals(({} as Record<string, unknown>).polluted, undefined);
  // What cannot cross is refused before it is sent; the proxy goes on.
  await assertRejects(() => d.set("f", () => 1), TypeError, "function");
  await assertRejects(
    () => d.set("c", new (class Point {})()),
    TypeError,
    "'Point'",
  );
  await assertRejects(
    () => d.set("l", new mp.Lock()),
    TypeError,
    "m.Lock()",
  );
  assertEquals(await d.size(), 2);
});

// --- Proxies nested and passed around -------------------------------------

Deno.test("DictProxy stores a proxy that comes back working, also in a worker", async () => {
  await using m = await mp.Manager();
  const d = await m.dict<string, unknown>();
  const inner = await m.list<string>(["main"]);
  const report = await m.list<number>();
  await d.set("inner", inner);
  const back = await d.get("inner") as mp.ListProxy<string>;
  assertInstanceOf(back, mp.ListProxy);
  assertEquals(await back.toArray(), ["main"]);
  // Nested in task arguments, at depth.
  const p = start("nested", [{ deep: [{ d }], l: report }]);
  await joinAll([p]);
  assertEquals(await d.get("from-worker"), true);
  assertEquals(await inner.toArray(), ["main", "worker"]);
  assertEquals(await report.toArray(), [2]);
  // A proxy also crosses inside a Map and inside another manager's object.
  await d.set("m", new Map([["q", await m.Queue()]]));
  const q = (await d.get("m") as Map<string, mp.QueueProxy>).get("q")!;
  await q.put(1);
  assertEquals(await q.get(), 1);
});

Deno.test("BaseProxy cannot be made with new", () => {
  assertThrows(
    () => new mp.DictProxy({}),
    TypeError,
    "get one from a manager",
  );
});

// --- Synchronization ------------------------------------------------------

Deno.test("Manager Queue.get and Lock.acquire wait out timeouts over 2^31 ms", async () => {
  await using m = await mp.Manager();
  const q = await m.Queue();
  const lock = await m.Lock();
  await lock.acquire();
  const got = q.get({ timeout: 3e6 });
  const taken = lock.acquire({ timeout: 3e6 });
  const early = await Promise.race([
    Promise.all([got, taken]).then(() => "settled", () => "settled"),
    new Promise((r) => setTimeout(() => r("waiting"), 300)),
  ]);
  assertEquals(early, "waiting");
  await q.put("late");
  await lock.release();
  assertEquals(await got, "late");
  assertEquals(await taken, true);
  await lock.release();
});

Deno.test("Manager proxies take negative timeouts as Python's threading and queue do", async () => {
  await using m = await mp.Manager();
  const q = await m.Queue();
  // queue.Queue: "'timeout' must be a non-negative number".
  await assertRejects(() => q.get({ timeout: -1 }), RangeError, "negative");
  await assertRejects(
    () => q.get({ timeout: "1" as unknown as number }),
    TypeError,
    `got the string "1"`,
  );
  // threading.Semaphore, Event and Condition: a negative timeout does
  // not wait.
  const t0 = performance.now();
  const sem = await m.Semaphore(0);
  assertEquals(await sem.acquire({ timeout: -1 }), false);
  const ev = await m.Event();
  assertEquals(await ev.wait(-1), false);
  const cond = await m.Condition();
  await cond.acquire();
  assertEquals(await cond.wait(-1), false);
  await cond.release();
  assert(performance.now() - t0 < 5000, "a negative timeout waited");
  // threading.Lock and Semaphore refuse a timeout with block=False;
  // queue.Queue ignores it.
  const lock = await m.Lock();
  await assertRejects(
    () => lock.acquire({ block: false, timeout: 1 }),
    TypeError,
    "block: false",
  );
  await assertRejects(
    () => sem.acquire({ block: false, timeout: 1 }),
    TypeError,
    "block: false",
  );
  await assertRejects(
    () => lock.acquire({ block: "no" as unknown as boolean }),
    TypeError,
    `'block' must be true or false, got the string "no"`,
  );
  await q.put(1);
  assertEquals(await q.get({ block: false, timeout: 1 }), 1);
});

Deno.test("LockProxy and RLock acquire, time out and check the owner", async () => {
  await using m = await mp.Manager();
  const lock = await m.Lock();
  assertEquals(await lock.acquire(), true);
  assertEquals(await lock.acquire({ block: false }), false);
  const t0 = performance.now();
  assertEquals(await lock.acquire({ timeout: 0.05 }), false);
  assert(performance.now() - t0 >= 40);
  const waiting = lock.acquire();
  await lock.release();
  assertEquals(await waiting, true);
  await lock.release();
  await assertRejects(() => lock.release(), mp.ValueError, "not locked");
  await assertRejects(
    () => lock.acquire({ timeout: -1 }),
    RangeError,
    "timeout",
  );

  const r = await m.RLock();
  assertEquals(await r.acquire(), true);
  assertEquals(await r.acquire(), true);
  await r.release();
  assertEquals(await r.locked(), true);
  await r.release();
  assertEquals(await r.locked(), false);
  await assertRejects(() => r.release(), mp.ValueError);
});

Deno.test("LockProxy held by a process that died is released", async () => {
  await using m = await mp.Manager();
  const lock = await m.Lock();
  await joinAll([start("acquireAndDie", [lock])]);
  // The dead process's connection ended; the server freed its lock.
  assertEquals(await lock.acquire({ timeout: 5 }), true);
  await lock.release();
});

Deno.test("SemaphoreProxy, EventProxy and ConditionProxy work as in Python", async () => {
  await using m = await mp.Manager();
  const s = await m.Semaphore(2);
  assertEquals(await s.acquire(), true);
  assertEquals(await s.acquire(), true);
  assertEquals(await s.acquire({ block: false }), false);
  await s.release(2);
  assertEquals(await s.getValue(), 2);
  const b = await m.BoundedSemaphore(1);
  await assertRejects(() => b.release(), mp.ValueError, "above");

  const e = await m.Event();
  assertEquals(await e.isSet(), false);
  assertEquals(await e.wait(0.01), false);
  const waiting = e.wait();
  await e.set();
  assertEquals(await waiting, true);
  await e.clear();
  assertEquals(await e.isSet(), false);

  const lock = await m.Lock();
  const c = await m.Condition(lock);
  await assertRejects(() => c.notify(), mp.ValueError, "does not hold");
  await c.acquire();
  assertEquals(await c.wait(0.01), false);
  assertEquals(await lock.locked(), true);
  let ready = false;
  const got = c.waitFor(() => ready, 5);
  await new Promise((r) => setTimeout(r, 20));
  // The waiter released the lock while it waits: take it and notify.
  assertEquals(await lock.locked(), false);
  await c.acquire();
  ready = true;
  await c.notifyAll();
  await c.release();
  assertEquals(await got, true);
  assertEquals(await lock.locked(), true); // the waiter has it again
  await c.release();
  const notALock = await m.Event();
  await assertRejects(() => m.Condition(notALock as never), TypeError);
});

// --- Queues ---------------------------------------------------------------

Deno.test("QueueProxy delivers FIFO across processes, with Empty and Full", async () => {
  await using m = await mp.Manager();
  const q = await m.Queue<number | null>(2);
  await q.put(1);
  await q.putNowait(2);
  assertEquals(await q.full(), true);
  await assertRejects(() => q.putNowait(3), mp.Full);
  await assertRejects(() => q.put(3, { timeout: 0.02 }), mp.Full);
  assertEquals(await q.qsize(), 2);
  assertEquals(await q.get(), 1);
  assertEquals(await q.getNowait(), 2);
  await assertRejects(() => q.getNowait(), mp.Empty);
  await assertRejects(() => q.get({ timeout: 0.02 }), mp.Empty);
  assertEquals(await q.empty(), true);

  const go = await m.Event();
  const out = await m.list<number>();
  const p = start("consume", [go, q, out]);
  await go.set();
  for (let i = 0; i < 20; i++) await q.put(i); // blocks while full
  await q.put(null);
  await joinAll([p]);
  assertEquals(await out.toArray(), [...Array(20).keys()]);
});

Deno.test("JoinableQueueProxy counts unfinished tasks", async () => {
  await using m = await mp.Manager();
  const q = await m.JoinableQueue<string>();
  await q.put("a");
  await q.put("b");
  let joined = false;
  const j = q.join().then(() => joined = true);
  await q.get();
  await q.taskDone();
  await q.get();
  assertEquals(joined, false);
  await q.taskDone();
  await j;
  assertEquals(joined, true);
  await assertRejects(() => q.taskDone(), mp.ValueError, "more times");
});

// --- Shutdown -------------------------------------------------------------

Deno.test("SyncManager.shutdown() makes later proxy calls reject", async () => {
  const m = await mp.Manager();
  const d = await m.dict();
  const q = await m.Queue();
  const pending = q.get().then(() => null, (err) => err);
  assertEquals(await q.qsize(), 0); // the get() is waiting on the server
  await m.shutdown();
  assertInstanceOf(await pending, mp.EOFError);
  await assertRejects(() => d.get("a"), mp.EOFError, "shut down");
  await assertRejects(() => m.list(), mp.EOFError, "shut down");
  await m.shutdown(); // again: nothing
});
