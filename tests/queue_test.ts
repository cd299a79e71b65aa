import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertInstanceOf,
  assertLess,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  Empty,
  Event,
  Full,
  JoinableQueue,
  Lock,
  Pipe,
  Pool,
  Process,
  Queue,
  SimpleQueue,
  TimeoutError,
  Value,
  ValueError,
} from "../mod.ts";
import { driveSync, Ring, type RingInit } from "../lib/_shm/ring.ts";
import { kShare } from "../lib/_common/transfer.ts";
import { joinAll, starter } from "./testdata/helpers.ts";
import { childRuntime, markDead } from "../lib/_common/runtime.ts";

const TASKS = new URL("./testdata/queue_tasks.ts", import.meta.url).href;
const CLONE_TASKS = new URL("./testdata/clone_tasks.ts", import.meta.url).href;

const start = starter(TASKS);

async function mpmc(producerTask: string, consumerTask: string) {
  const n = 50_000;
  const producers = 4;
  const consumers = 4;
  const q = new Queue<[number, number] | null>();
  const results = new Queue<{ count: number; inOrder: boolean }>();
  const seen = new Int32Array(new SharedArrayBuffer(n * producers * 4));
  const cons = Array.from(
    { length: consumers },
    (_, i) => start(i % 2 ? consumerTask : "consume", [q, seen, n, results]),
  );
  const prods = Array.from(
    { length: producers },
    (_, i) => start(i % 2 ? producerTask : "produce", [q, i, n]),
  );
  await joinAll(prods);
  for (let i = 0; i < consumers; i++) await q.put(null);
  await joinAll(cons);
  let total = 0;
  for (let i = 0; i < consumers; i++) {
    const r = await results.get({ timeout: 5 });
    assert(r.inOrder, "a producer's items arrived out of order");
    total += r.count;
  }
  assertEquals(total, n * producers);
  const wrong = seen.findIndex((x) => x !== 1);
  assertEquals(wrong, -1, `item ${wrong} was delivered ${seen[wrong]} times`);
  assert(q.empty());
  assertEquals(q.qsize(), 0);
}

Deno.test("Queue delivers 4 producers x 50,000 items to 4 consumers exactly once, in order per producer", async () => {
  await mpmc("produce", "consume");
});

Deno.test("Queue async put() and get() in workers deliver every item exactly once", async () => {
  await mpmc("produceAsync", "consumeAsync");
});

Deno.test("Queue with maxsize blocks producers (backpressure)", async () => {
  const q = new Queue<number>(10);
  const progress = new Int32Array(new SharedArrayBuffer(4));
  const p = start("fill", [q, 1000, progress]);
  // The producer fills the queue, then must wait.
  const t0 = performance.now();
  while (Atomics.load(progress, 0) < 10 && performance.now() - t0 < 10_000) {
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 100));
  assertEquals(Atomics.load(progress, 0), 10);
  assertEquals(q.qsize(), 10);
  assert(q.full());
  for (let i = 0; i < 1000; i++) {
    assertEquals(await q.get({ timeout: 5 }), i);
    assertLess(q.qsize(), 11);
  }
  await joinAll([p]);
  assert(q.empty());
  assert(!q.full());
});

Deno.test("Queue.getNowait() on an empty queue throws Empty", () => {
  const q = new Queue();
  assertThrows(() => q.getNowait(), Empty);
  assertThrows(() => q.getSync({ block: false }), Empty);
  q.putNowait(1);
  assertEquals(q.getNowait(), 1);
  assertThrows(() => q.getNowait(), Empty);
});

Deno.test("Queue.get({ block: false }) on an empty queue rejects with Empty", async () => {
  await assertRejects(() => new Queue().get({ block: false }), Empty);
});

Deno.test("Queue.put() with a timeout on a full queue rejects with Full", async () => {
  const q = new Queue<number>(2);
  await q.put(1);
  await q.put(2);
  const t0 = performance.now();
  await assertRejects(() => q.put(3, { timeout: 0.1 }), Full);
  assertGreaterOrEqual(performance.now() - t0, 95);
  await assertRejects(() => q.put(3, { block: false }), Full);
  assertThrows(() => q.putNowait(3), Full);
  assertThrows(() => q.putSync(3, { timeout: 0.01 }), Full);
  assertEquals(q.qsize(), 2);
  assertEquals(await q.get(), 1);
  await q.put(3, { timeout: 0.1 });
  assertEquals([await q.get(), await q.get()], [2, 3]);
});

Deno.test("Queue.put() that waited gets in when a consumer makes room", async () => {
  const q = new Queue<number>(1);
  await q.put(1);
  const waiting = q.put(2, { timeout: 5 });
  assertEquals(await q.get(), 1);
  await waiting;
  assertEquals(await q.get(), 2);
});

Deno.test("Queue.get() honours its timeout", async () => {
  const q = new Queue();
  let t0 = performance.now();
  await assertRejects(() => q.get({ timeout: 0.2 }), Empty);
  let took = performance.now() - t0;
  assertGreaterOrEqual(took, 195);
  assertLess(took, 1000);
  t0 = performance.now();
  assertThrows(() => q.getSync({ timeout: 0.05 }), Empty);
  took = performance.now() - t0;
  assertGreaterOrEqual(took, 45);
  assertLess(took, 1000);
  // A negative timeout does not wait, as Python's multiprocessing.Queue.
  t0 = performance.now();
  assertThrows(() => q.getSync({ timeout: -1 }), Empty);
  await assertRejects(() => q.get({ timeout: -1 }), Empty);
  assertLess(performance.now() - t0, 1000);
  // Bad options fail at the call, even with an item waiting.
  q.putSync(1);
  // @ts-expect-error: block must be a boolean
  await assertRejects(() => q.get({ block: "no" }), TypeError, "'block'");
  // @ts-expect-error: timeout must be a number
  assertThrows(() => q.getSync({ timeout: "1" }), TypeError, 'the string "1"');
  assertEquals(q.getSync({ block: false, timeout: 1 }), 1);
});

Deno.test("Queue.get() that waits gets an item put later by a worker", async () => {
  const input = new Queue();
  const out = new Queue();
  const p = start("relay", [input, out]);
  const got = out.get({ timeout: 60 });
  await new Promise((r) => setTimeout(r, 50));
  await input.put({ late: true });
  assertEquals(await got, { late: true });
  await joinAll([p]);
});

Deno.test("A queue or pipe end a worker received can be sent on, and comes back as itself", async () => {
  const q = new Queue<string>();
  const jq = new JoinableQueue();
  const sq = new SimpleQueue();
  const [a, b] = Pipe();
  await using pool = new Pool(1);
  // The worker gets revived handles and returns them: each crosses back
  // from the handle revived there.
  const back = await pool.apply(
    { module: CLONE_TASKS, name: "identity" },
    [[q, jq, sq, b]],
  ) as unknown[];
  assertStrictEquals(back[0], q);
  assertStrictEquals(back[1], jq);
  assertStrictEquals(back[2], sq);
  assertStrictEquals(back[3], b);
  await q.put("still works");
  assertEquals(await q.get({ timeout: 5 }), "still works");
  a.close();
  b.close();
});

Deno.test("A worker blocked in one queue's getSync() still feeds another queue it put to", async () => {
  // The items do not fit the ring: most wait in the worker's feeder, which
  // has to keep writing while the worker blocks on `cmd`, as Python's
  // feeder thread does.
  const q = new Queue<number>(0, { bufferSize: 1024 });
  const cmd = new Queue();
  const n = 2000;
  const p = start("putManyThenBlock", [q, cmd, n]);
  const got: number[] = [];
  try {
    for (let i = 0; i < n; i++) got.push(await q.get({ timeout: 20 }));
  } finally {
    await cmd.put("end");
    await joinAll([p]);
  }
  assertEquals(got, Array.from({ length: n }, (_, i) => i));
});

Deno.test("Queue keeps rich types across processes", async () => {
  const input = new Queue();
  const out = new Queue();
  const value = {
    map: new Map<unknown, unknown>([["a", 1], [2, new Set([3n])]]),
    date: new Date(1234),
    big: -(2n ** 80n),
    bytes: new Uint8Array([1, 2, 3]),
    floats: new Float64Array([1.5, -0]),
    nested: { list: [1, "two", [null, undefined, true]], empty: {} },
    text: "héllo wörld ✓",
    negZero: -0,
    nan: NaN,
    regexp: /a+/g,
  };
  const p = start("relay", [input, out]);
  await input.put(value);
  const back = await out.get({ timeout: 60 }) as typeof value;
  await joinAll([p]);
  assertEquals(back, value);
  assertInstanceOf(back.map, Map);
  assertInstanceOf(back.date, Date);
  assertInstanceOf(back.bytes, Uint8Array);
  assertInstanceOf(back.floats, Float64Array);
  assert(Object.is(back.negZero, -0));
  assert(Object.is(back.floats[1], -0));
  assert("1" in (back.nested.list[2] as unknown[]));
});

Deno.test("Queue keeps shared references, cycles, holes and odd keys", () => {
  const q = new Queue();
  const shared = { s: 1 };
  const cyclic: Record<string, unknown> = { name: "c" };
  cyclic.self = cyclic;
  // deno-lint-ignore no-sparse-arrays
  const holes = [1, , 3];
  const proto = JSON.parse('{"__proto__": {"x": 1}}');
  for (const v of [[shared, shared], cyclic, holes, proto]) q.putSync(v);
  const [a, b] = q.getSync() as object[];
  assert(a === b);
  const c = q.getSync() as Record<string, unknown>;
  assert(c.self === c);
  const h = q.getSync() as unknown[];
  assertEquals(h.length, 3);
  assert(!(1 in h));
  const o = q.getSync() as Record<string, unknown>;
  assertEquals(Object.getPrototypeOf(o), Object.prototype);
  assertEquals(Object.keys(o), ["__proto__"]);
});

Deno.test("Queue passes an item larger than its buffer, between other items", async () => {
  const input = new Queue(0, { bufferSize: 1024 });
  const out = new Queue(0, { bufferSize: 1024 });
  const big = { text: "x".repeat(200_000), bytes: new Uint8Array(50_000) };
  big.bytes.fill(7);
  const procs = [0, 1, 2].map(() => start("relay", [input, out]));
  await input.put("small");
  await input.put(big);
  await input.put(new Map([[1, "x".repeat(5000)]]));
  const got = [];
  for (let i = 0; i < 3; i++) got.push(await out.get({ timeout: 60 }));
  await joinAll(procs);
  assertEquals(got.length, 3);
  assert(got.includes("small"));
  assert(got.some((g) => g instanceof Map && g.get(1).length === 5000));
  const b = got.find((g) => g !== null && typeof g === "object" && "text" in g);
  assertEquals(b, big);
});

Deno.test("Queue.putNowait() on an unbounded queue with a full buffer feeds in order", async () => {
  const q = new Queue<number>(0, { bufferSize: 64 });
  for (let i = 0; i < 100; i++) q.putNowait(i);
  q.putSync(100);
  assertEquals(q.qsize(), 101);
  for (let i = 0; i <= 100; i++) assertEquals(await q.get({ timeout: 1 }), i);
  q.close();
  await q.joinThread();
});

Deno.test("Queue.close() rejects this handle's waiting get() and later calls", async () => {
  const q = new Queue();
  const waiting = q.get();
  q.close();
  await assertRejects(() => waiting, ValueError, "closed");
  await assertRejects(() => q.put(1), ValueError);
  assertThrows(() => q.getNowait(), ValueError);
  q.close();
});

Deno.test("Queue.joinThread() needs close() first", async () => {
  const q = new Queue();
  await assertRejects(() => q.joinThread(), ValueError);
  q.close();
  await q.joinThread();
});

Deno.test("Queue rejects a value that cannot be cloned, and stays usable", async () => {
  const q = new Queue();
  await assertRejects(() => q.put(() => 1), DOMException);
  assertThrows(() => q.putSync({ f: Symbol("x") }), DOMException);
  assertEquals(q.qsize(), 0);
  await q.put(1);
  assertEquals(await q.get(), 1);
});

Deno.test("Queue rejects a bad maxsize or bufferSize", () => {
  assertThrows(() => new Queue(1.5), TypeError);
  assertThrows(() => new Queue(0, { bufferSize: 0 }), RangeError);
});

Deno.test("Queue keeps working after a consumer blocked in getSync() is terminated", async () => {
  const q = new Queue<number>();
  const started = new Int32Array(new SharedArrayBuffer(4));
  const p = start("blockForever", [q, started]);
  while (Atomics.load(started, 0) === 0) {
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 50));
  p.terminate();
  await p.join(10);
  await q.put(1);
  assertEquals(await q.get({ timeout: 1 }), 1);
});

Deno.test("JoinableQueue.join() returns only after every taskDone()", async () => {
  const q = new JoinableQueue<number | null>();
  const done = new Int32Array(new SharedArrayBuffer(4));
  const workers = [0, 1, 2].map(() => start("worker", [q, done]));
  const jobs = 200;
  for (let i = 0; i < jobs; i++) await q.put(i);
  await q.join({ timeout: 60 });
  assertEquals(Atomics.load(done, 0), jobs);
  for (let i = 0; i < workers.length; i++) await q.put(null);
  q.joinSync({ timeout: 60 });
  await joinAll(workers);
});

Deno.test("JoinableQueue.taskDone() once too many throws ValueError", async () => {
  const q = new JoinableQueue();
  await q.put("a");
  await q.get();
  q.taskDone();
  assertThrows(() => q.taskDone(), ValueError, "more times than items");
});

Deno.test("JoinableQueue.join() with a timeout throws TimeoutError", async () => {
  const q = new JoinableQueue();
  await q.put("a");
  await assertRejects(() => q.join({ timeout: 0.05 }), TimeoutError);
  assertThrows(() => q.joinSync({ timeout: 0.01 }), TimeoutError);
});

Deno.test("JoinableQueue arrives in a worker as a JoinableQueue", async () => {
  const input = new JoinableQueue();
  const out = new Queue();
  const p = start("relay", [input, out]);
  await input.put(5);
  assertEquals(await out.get({ timeout: 60 }), 5);
  await joinAll([p]);
});

Deno.test("SimpleQueue puts and gets across processes", async () => {
  const input = new SimpleQueue<unknown>();
  const out = new SimpleQueue<unknown>();
  assert(input.empty());
  const p = start("relaySimple", [input, out]);
  await input.put(new Set(["x"]));
  assertEquals(await out.get(), new Set(["x"]));
  await joinAll([p]);
  input.close();
  out.close();
});

Deno.test("Queue ring: a lock whose holder died is taken over, not deadlocked", () => {
  const ring = Ring.create(1024);
  const dead = childRuntime().key;
  markDead(dead);
  // The writer and reader locks sit at control slots 32 and 48.
  Atomics.store(ring.ctl, 32, dead);
  Atomics.store(ring.ctl, 48, dead);
  const payload = new Uint8Array([0, 3]); // fast format, `true`
  const deadline = performance.now() + 2000;
  assertEquals(driveSync(ring.write(payload, deadline), ring.ctl, "put"), true);
  const got = driveSync(ring.read(deadline, (p) => p.slice()), ring.ctl, "get");
  assertEquals(got, payload);
});

// --- issue 10: put never waits for a reader; a dead reader loses nothing ---

const BIG = 4 << 20;

Deno.test("Queue.put() of an item larger than the ring returns at once; get() in the same process receives it", async () => {
  const q = new Queue<Uint8Array | string>();
  await q.put(new Uint8Array(BIG).fill(7));
  await q.put("after");
  assertEquals(q.qsize(), 2);
  const got = await q.get({ timeout: 30 }) as Uint8Array;
  assertEquals(got.length, BIG);
  assert(got.every((b) => b === 7));
  assertEquals(await q.get({ timeout: 5 }), "after");
  assertEquals(q.qsize(), 0);
  // The blocking twins, in one thread.
  q.putSync(new Uint8Array(BIG).fill(7));
  assertEquals((q.getSync({ timeout: 30 }) as Uint8Array).length, BIG);
});

Deno.test("SimpleQueue.put() of an item larger than the ring returns at once", async () => {
  const q = new SimpleQueue<Uint8Array>();
  await q.put(new Uint8Array(BIG).fill(7));
  q.putSync(new Uint8Array(BIG).fill(8));
  assertEquals((await q.get())[0], 7);
  assertEquals(q.getSync()[0], 8);
});

Deno.test("Queue(n).put() waits for a place under maxsize only, not for a reader", async () => {
  const q = new Queue<Uint8Array>(2, { bufferSize: 1024 });
  await q.put(new Uint8Array(100_000));
  await q.put(new Uint8Array(100_000));
  assert(q.full());
  await assertRejects(() => q.put(new Uint8Array(1), { timeout: 0.05 }), Full);
  assertEquals((await q.get({ timeout: 30 })).length, 100_000);
  await q.put(new Uint8Array(3), { timeout: 5 });
  assertEquals((await q.get({ timeout: 30 })).length, 100_000);
  assertEquals((await q.get({ timeout: 30 })).length, 3);
});

for (const sm of ["worker", "subprocess"] as const) {
  Deno.test(`[${sm}] a child's put of an item larger than the ring returns before any reader comes`, async () => {
    const q = new Queue<Uint8Array | string>();
    const returned = new Event();
    const p = new Process({
      target: { module: TASKS, name: "putBigThenSignal" },
      args: [q, BIG, returned],
      startMethod: sm,
    });
    p.start();
    try {
      assert(await returned.wait(60), "the child's putSync() never returned");
      assertEquals((await q.get({ timeout: 30 }) as Uint8Array).length, BIG);
      assertEquals(await q.get({ timeout: 30 }), "after");
    } finally {
      await p.join(30);
    }
    assertEquals(p.exitCode, 0);
  });

  Deno.test(`[${sm}] a consumer killed part-way through an 8 MiB item takes nothing with it`, async () => {
    const size = 8 << 20;
    const q = new Queue<Uint8Array>(1, { bufferSize: 64 << 10 });
    const out = new Queue<{ length: number; sevens: boolean }>();
    const pause = new Int32Array(new SharedArrayBuffer(4));
    // The producer writes the first chunks, then stops part-way.
    const producer = start("putBigPaused", [q, size, pause]);
    const consumer = (): Process => {
      const c = new Process({
        target: { module: TASKS, name: "getAndReport" },
        args: [q, out],
        startMethod: sm,
      });
      c.start();
      return c;
    };
    const first = consumer();
    let second: Process | undefined;
    try {
      // The first consumer has read the chunks there are: it is part-way.
      const ring = new Int32Array(
        (q as unknown as { [k: symbol]: () => { data: { ring: RingInit } } })
          [kShare]().data.ring.control,
      );
      const until = performance.now() + 30_000;
      while (Atomics.load(ring, 0) === 0 && performance.now() < until) {
        await new Promise((r) => setTimeout(r, 5));
      }
      assert(Atomics.load(ring, 0) !== 0, "the consumer never started");
      first.kill();
      await first.join(30);
      Atomics.store(pause, 0, 1);
      Atomics.notify(pause, 0);
      second = consumer();
      assertEquals(await out.get({ timeout: 60 }), {
        length: size,
        sevens: true,
      });
      await second.join(30);
      await producer.join(30);
      assertEquals([second.exitCode, producer.exitCode], [0, 0]);
      assertEquals(q.qsize(), 0);
      assert(q.empty(), "empty() is false on an empty queue");
      assert(!q.full(), "full() is true on an empty queue");
      await q.put(new Uint8Array(1), { timeout: 5 });
      assertEquals((await q.get({ timeout: 5 })).length, 1);
    } finally {
      Atomics.store(pause, 0, 1);
      Atomics.notify(pause, 0);
      for (const p of [first, second, producer]) {
        if (p?.isAlive()) p.kill();
        await p?.join(30);
      }
    }
  });
}

Deno.test("a process's end waits for its queue feeder; after cancelJoinThread() it does not", async () => {
  const q = new Queue<Uint8Array>(0, { bufferSize: 64 << 10 });
  const waits = start("putBigAndEnd", [q, 1 << 20]);
  await new Promise((r) => setTimeout(r, 500));
  assert(waits.isAlive(), "the process ended with items in its feeder");
  assertEquals((await q.get({ timeout: 30 })).length, 1 << 20);
  await waits.join(30);
  assertEquals(waits.exitCode, 0);

  const q2 = new Queue<Uint8Array>(0, { bufferSize: 64 << 10 });
  const ends = start("putBigCancelAndEnd", [q2, 1 << 20]);
  await ends.join(30);
  assertEquals(ends.exitCode, 0);
});

Deno.test("Queue.get() of an item whose bytes do not decode throws, and the item is not lost", async () => {
  const q = new Queue<number>(2);
  const { ring, control } =
    (q as unknown as { [k: symbol]: () => { data: QueueData } })[kShare]()
      .data;
  // Bytes no encoder makes (format 99), counted as a queue item would be.
  assert(new Ring(ring).tryWrite(new Uint8Array([99])));
  Atomics.add(new Int32Array(control), 0, 1);
  await q.put(1);
  await assertRejects(() => q.get(), TypeError, "unknown format");
  assertEquals(q.qsize(), 2);
  assert(q.full());
  assertEquals(await q.get({ timeout: 5 }), 1);
  assertThrows(() => q.getSync({ timeout: 5 }), TypeError, "unknown format");
  assertEquals(q.qsize(), 1);
});

interface QueueData {
  ring: RingInit;
  control: SharedArrayBuffer;
}

Deno.test("A primitive inside a queue item or a pipe message is refused with DataCloneError naming it, as Python refuses it", async () => {
  const q = new Queue<unknown>();
  const [a, b] = Pipe();
  const lock = new Lock();
  const inner = new Queue<number>();
  const cyclic: Record<string, unknown> = { lock };
  cyclic.self = cyclic;
  // Directly, nested in plain data (the fast format), and inside a Map,
  // a Set, a cyclic object or a class instance (items that take v8's
  // format).
  const cases: Array<[unknown, string]> = [
    [lock, "Lock"],
    [{ job: 1, lock }, "Lock"],
    [[1, [2, inner]], "Queue"],
    [new Map([["v", new Value("i", 1)]]), "Value"],
    [new Set([new Event()]), "Event"],
    [cyclic, "Lock"],
    [{ end: a }, "Connection"],
    // Held by an instance of a class of the program's own.
    [
      new (class Job {
        constructor(readonly lock: Lock) {}
      })(lock),
      "Lock",
    ],
  ];
  try {
    for (const [item, name] of cases) {
      const sync = assertThrows(() => q.putSync(item), DOMException);
      assertEquals(sync.name, "DataCloneError");
      assertStringIncludes(sync.message, `'${name}'`);
      const err = await assertRejects(() => q.put(item), DOMException);
      assertStringIncludes(err.message, "inheritance");
      assertThrows(() => b.sendSync(item), DOMException);
      await assertRejects(() => b.send(item), DOMException);
    }
    // Nothing was sent, and both still work.
    assert(q.empty());
    await q.put({ plain: [1, 2] });
    assertEquals(await q.get(), { plain: [1, 2] });
    await b.send("ok");
    assertEquals(await a.recv(), "ok");
  } finally {
    q.close();
    inner.close();
    a.close();
    b.close();
  }
});
