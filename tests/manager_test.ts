import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertThrows,
} from "@std/assert";
import * as mp from "../mod.ts";
import * as tasks from "./testdata/manager_tasks.ts";
import { firstLine, joinAll, runDeno, starter } from "./testdata/helpers.ts";
import {
  clientHandshake,
  frame,
  FrameReader,
  HANDSHAKE_MAX_FRAME,
  MAX_UNAUTHENTICATED,
  messageFrame,
  SERVER_HANDSHAKE_MS,
} from "../lib/_manager/wire.ts";

const TASKS = new URL("./testdata/manager_tasks.ts", import.meta.url);
const SERVER = new URL("./testdata/manager_server.ts", import.meta.url);

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

// --- Remote managers --------------------------------------------------------

Deno.test("connectManager() uses a manager served by another OS process", async () => {
  const authkey = crypto.randomUUID();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SERVER.href, authkey],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { address, pid } = JSON.parse(await firstLine(lines)) as {
    address: mp.ManagerAddress;
    pid: number;
  };
  assert(pid !== Deno.pid);
  assertEquals(address[0], "127.0.0.1");
  try {
    await assertRejects(
      () => mp.connectManager({ address, authkey: "wrong" }),
      mp.AuthenticationError,
      "authkey does not match",
    );
    const m = await mp.connectManager({ address, authkey });
    const shared = await m.get<mp.DictProxy<string, unknown>>("shared");
    assertEquals(await shared.get("greeting"), "hello");
    const jobs = await m.get<mp.QueueProxy<string>>("jobs");
    await jobs.put("job-1");
    assertEquals(await jobs.get(), "job-1");
    // Objects made from the client live on the remote server.
    const l = await m.list([1]);
    await shared.set("list", l);
    const back = await shared.get("list") as mp.ListProxy<number>;
    await back.append(2);
    assertEquals(await l.toArray(), [1, 2]);
    assertEquals((await m.names()).sort(), ["jobs", "shared"]);
    await assertRejects(() => m.get("nope"), RangeError, "nothing is");
    // A proxy passed to a worker of this program reaches the other process.
    await joinAll([start("appendTo", [l, 3])]);
    assertEquals(await l.toArray(), [1, 2, 3]);
    // The server goes away: calls reject instead of hanging.
    await child.stdin.close();
    assertEquals((await child.status).code, 0);
    await assertRejects(() => shared.get("greeting"), mp.EOFError);
    await assertRejects(() => shared.get("greeting"), mp.EOFError, "gone");
    await m.shutdown();
    await assertRejects(() => shared.size(), mp.EOFError, "closed");
  } finally {
    await lines.cancel();
    try {
      child.kill();
    } catch {
      // Already ended.
    }
    await child.status;
    await child.stdin.close().catch(() => {});
  }
});

Deno.test("serveManager() refuses a wrong authkey and closes the connection", async () => {
  await using server = await mp.serveManager({ authkey: "right" });
  await assertRejects(
    () => mp.connectManager({ address: server.address, authkey: "wrong" }),
    mp.AuthenticationError,
  );
  // By hand: the server answers 0x00 and closes.
  const conn = await Deno.connect({
    hostname: server.address[0],
    port: server.address[1],
  });
  const reader = new FrameReader(conn, HANDSHAKE_MAX_FRAME);
  assertEquals(
    await clientHandshake(conn, reader, new TextEncoder().encode("nope")),
    "refused",
  );
  assertEquals(await conn.read(new Uint8Array(8)), null);
  conn.close();
  await assertRejects(
    () => mp.serveManager({} as mp.ServeManagerOptions),
    TypeError,
    "authkey",
  );
});

Deno.test("Manager() that runs out of memory dies alone; its proxies say it died and why", async () => {
  // Its own program: before, the out-of-memory took the whole program
  // down with it (V8's fatal error, exit 133).
  const run = await runDeno("./manager_oom_main.ts", [], 120);
  assert(!run.timedOut, `the program hung\n${run.stdout}`);
  assertEquals(run.code, 0, `${run.stdout}\n${run.stderr.slice(-2000)}`);
  const said = run.stdout.split("\n");
  for (const what of ["big", "later"]) {
    const line = said.find((l) => l.startsWith(`${what} `)) ?? "";
    assert(line.startsWith(`${what} EOFError:`), line);
    assert(line.includes("the manager died"), line);
    assert(line.includes("ran out of memory"), line);
  }
  // A child's proxy fails too, rather than waiting for ever.
  const child = said.find((l) => l.startsWith("child ")) ?? "";
  assert(child.startsWith("child EOFError:"), child);
  assert(said.includes("new manager: 1"), run.stdout);
});

/** Reads from `conn` until it closes; the bytes seen before the end. */
async function readToEnd(conn: Deno.Conn): Promise<number> {
  const buf = new Uint8Array(1024);
  let seen = 0;
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return seen;
    seen += n;
  }
}

Deno.test("serveManager() refuses connections over its cap of strangers at once, then drops the silent ones", async () => {
  await using server = await mp.serveManager({ authkey: "0123456789abcdef" });
  const [hostname, port] = server.address;
  // Strangers that connect and say nothing fill every place.
  const silent: Deno.Conn[] = [];
  const ends: Promise<number>[] = [];
  const t0 = performance.now();
  try {
    for (let i = 0; i < MAX_UNAUTHENTICATED; i++) {
      const c = await Deno.connect({ hostname, port });
      silent.push(c);
      ends.push(readToEnd(c));
    }
    // Each got the server's hello, so each holds a place.
    await new Promise((r) => setTimeout(r, 200));
    // One more is closed unread: no hello, at once.
    const extra = await Deno.connect({ hostname, port });
    const tExtra = performance.now();
    assertEquals(await readToEnd(extra), 0);
    extra.close();
    assert(
      performance.now() - tExtra < SERVER_HANDSHAKE_MS,
      "the connection over the cap waited for the handshake deadline",
    );
    // The silent ones are dropped at the (short) handshake deadline, after
    // the server's hello.
    for (const seen of await Promise.all(ends)) assert(seen > 0);
    const waited = performance.now() - t0;
    assert(
      waited >= SERVER_HANDSHAKE_MS - 100 && waited < 3 * SERVER_HANDSHAKE_MS,
      `silent strangers dropped after ${waited.toFixed(0)} ms`,
    );
  } finally {
    for (const c of silent) c.close();
  }
  // With the places free again, a client gets in.
  const m = await mp.connectManager({
    address: server.address,
    authkey: "0123456789abcdef",
  });
  assertEquals(await (await m.list([1])).toArray(), [1]);
  await m.shutdown();
});

Deno.test("serveManager() slows down repeated wrong authkeys from one address", async () => {
  const authkey = "0123456789abcdef";
  await using server = await mp.serveManager({ authkey });
  const [hostname, port] = server.address;
  const guess = async (key: string) => {
    const conn = await Deno.connect({ hostname, port });
    try {
      const r = new FrameReader(conn, HANDSHAKE_MAX_FRAME);
      return await clientHandshake(conn, r, new TextEncoder().encode(key));
    } finally {
      conn.close();
    }
  };
  const t0 = performance.now();
  for (let i = 0; i < 6; i++) {
    assertEquals(await guess(`wrong ${i}`), "refused");
  }
  // Pauses of 50, 100, 200, 400 and 800 ms before guesses 2 to 6 (about
  // 1,150 guesses a second were answered before).
  const took = performance.now() - t0;
  assert(took >= 1400, `6 wrong guesses answered in ${took.toFixed(0)} ms`);
  // The right key still gets in (after its pause), and resets the address.
  assertEquals(typeof await guess(authkey), "number");
  const t1 = performance.now();
  assertEquals(typeof await guess(authkey), "number");
  assert(performance.now() - t1 < 1000, "a good address stayed slowed down");
});

Deno.test("serveManager() refuses an authkey under 16 bytes beyond loopback", async () => {
  for (const host of ["0.0.0.0", "::", "192.168.1.10", "example.com"]) {
    await assertRejects(
      () => mp.serveManager({ address: [host, 0], authkey: "short" }),
      RangeError,
      "at least 16",
    );
  }
  await assertRejects(
    () =>
      mp.serveManager({
        address: ["0.0.0.0", 0],
        authkey: new Uint8Array(15),
      }),
    RangeError,
    "15 bytes",
  );
  // Loopback keeps short keys (only this machine can connect).
  for (const host of ["127.0.0.1", "localhost"]) {
    await using server = await mp.serveManager({
      address: [host, 0],
      authkey: "k",
    });
    assertEquals(server.authkey.length, 1);
  }
});

Deno.test("serveManager() drops a client sending junk or an oversized frame, serves the rest", async () => {
  const authkey = new TextEncoder().encode("k");
  await using server = await mp.serveManager({ authkey, maxFrameSize: 4096 });
  const d = await server.dict<string, number>({ ok: 1 });
  const [hostname, port] = server.address;

  async function dropped(send: (conn: Deno.Conn) => Promise<void>) {
    const conn = await Deno.connect({ hostname, port });
    try {
      await send(conn);
      // Read until the server closes us (it may answer first).
      const buf = new Uint8Array(4096);
      for (;;) {
        const n = await conn.read(buf).catch(() => null);
        if (n === null) break;
      }
    } finally {
      conn.close();
    }
  }
  async function authed(conn: Deno.Conn): Promise<void> {
    const r = new FrameReader(conn, HANDSHAKE_MAX_FRAME);
    assertEquals(await clientHandshake(conn, r, authkey), 4096);
  }

  // Junk before the handshake.
  await dropped(async (c) => {
    await c.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
  });
  // Not JSON, after the handshake.
  await dropped(async (c) => {
    await authed(c);
    await c.write(frame(new TextEncoder().encode("{not json")));
  });
  // A request with an unknown value tag.
  await dropped(async (c) => {
    await authed(c);
    await c.write(messageFrame({ i: 1, o: 1, m: "get", a: [{ $: "eval" }] }));
  });
  // An oversized frame (announces 1 MiB).
  await dropped(async (c) => {
    await authed(c);
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, 1 << 20);
    await c.write(head);
  });
  // A method outside the allow-list answers with an error; the client stays.
  {
    const conn = await Deno.connect({ hostname, port });
    await authed(conn);
    await conn.write(
      messageFrame({ i: 7, o: d.objectId, m: "constructor", a: [] }),
    );
    const r = new FrameReader(conn, 1 << 20);
    const [reply] = (await r.next())!;
    const msg = JSON.parse(new TextDecoder().decode(reply));
    assertEquals(msg.i, 7);
    assertEquals(msg.e.name, "TypeError");
    conn.close();
  }
  // Everyone else goes on.
  assertEquals(await d.get("ok"), 1);
  // A proxy refuses to send more than the server takes, and goes on.
  await assertRejects(
    () => d.set("big", "x".repeat(10_000) as unknown as number),
    RangeError,
    "limit",
  );
  assertEquals(await d.get("ok"), 1);
});
