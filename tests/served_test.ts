// Shared-memory primitives used from "subprocess" children: the parent
// serves them (lib/_served/). Every test runs real `deno` children
// that contend with each other and with the parent.
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import * as mp from "../mod.ts";
import * as served from "./testdata/served_tasks.ts";
import { runDeno } from "./testdata/helpers.ts";

const TASKS = new URL("./testdata/served_tasks.ts", import.meta.url);

function start(
  name: keyof typeof served,
  args: unknown[],
  extra = {},
) {
  const p = new mp.Process({
    target: { module: TASKS, name },
    args,
    startMethod: "subprocess",
    ...extra,
  });
  p.start();
  return p;
}

async function joinAll(ps: mp.Process[]): Promise<(number | null)[]> {
  for (const p of ps) await p.join();
  return ps.map((p) => p.exitCode);
}

Deno.test("served: a Value stays exact under a Lock contended by children and the parent", async () => {
  const lock = new mp.Lock();
  const v = new mp.Value("i", 0);
  const ps = [
    start("countSync", [lock, v, 150]),
    start("countSync", [lock, v, 150]),
    start("countSync", [lock, v, 150]),
  ];
  // The parent contends too, through shared memory.
  for (let i = 0; i < 300; i++) {
    using _held = await lock.lock();
    v.value = v.value + 1;
    if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  assertEquals(await joinAll(ps), [0, 0, 0]);
  assertEquals(v.value, 750);
  assertEquals(lock.locked(), false);
});

Deno.test("served: acquireSync() on a lock a child holds throws here, where it would deadlock; acquire() waits", async () => {
  const lock = new mp.Lock();
  const held = new mp.Event();
  const go = new mp.Event();
  const p = start("holdUntil", [lock, held, go]);
  try {
    assert(await held.wait(60), "the child never took the lock");
    // The child's release would be served by this thread, blocked here.
    const err = assertThrows(() => lock.acquireSync());
    assertStringIncludes(String(err), '"subprocess" child holds it');
    assertStringIncludes(String(err), "await acquire()");
    // With a timeout it just waits that long; the async form gets it.
    assertEquals(lock.acquireSync({ timeout: 0.05 }), false);
    go.set();
    assert(await lock.acquire({ timeout: 60 }), "never got the lock");
    lock.release();
    // Once released, acquireSync() takes it at once.
    assert(lock.acquireSync());
    lock.release();
  } finally {
    go.set();
    await p.join();
  }
  assertEquals(p.exitCode, 0);
});

Deno.test("served: a Value's own lock taken with await lock() in children", async () => {
  const v = new mp.Value("i", 0);
  const ps = [start("countAsync", [v, 200]), start("countAsync", [v, 200])];
  assertEquals(await joinAll(ps), [0, 0]);
  assertEquals(v.value, 400);
});

Deno.test("served: Queue items from two child producers arrive once, in each producer's order", async () => {
  const q = new mp.Queue<[number, number]>(16);
  const n = 300;
  const ps = [start("produce", [q, 1, n]), start("produce", [q, 2, n])];
  const next = new Map([[1, 0], [2, 0]]);
  for (let k = 0; k < 2 * n; k++) {
    const [id, i] = await q.get({ timeout: 30 });
    assertEquals(i, next.get(id), `producer ${id} out of order`);
    next.set(id, i + 1);
  }
  assertEquals(await joinAll(ps), [0, 0]);
  assertEquals([...next.values()], [n, n]);
  assert(q.empty());
});

Deno.test("served: a child consumer takes every item the parent puts", async () => {
  const q = new mp.Queue<number | null>(8);
  const out = new mp.Queue<[number, number]>();
  const p = start("consume", [q, out]);
  let sum = 0;
  for (let i = 1; i <= 500; i++) {
    await q.put(i);
    sum += i;
  }
  await q.put(null);
  assertEquals(await out.get({ timeout: 30 }), [500, sum]);
  assertEquals(await joinAll([p]), [0]);
});

Deno.test("served: errors keep their classes in the child; stand-ins keep theirs", async () => {
  const empty = new mp.Queue<number>();
  const full = new mp.Queue<number>(1);
  await full.put(0);
  const held = new mp.Lock();
  held.acquireSync();
  const broken = new mp.Barrier(2);
  broken.abort();
  const out = new mp.Queue<unknown>();
  const p = start("errorsSeen", [empty, full, held, broken, out]);
  const report = await out.get({ timeout: 30 });
  assertEquals(await joinAll([p]), [0]);
  assertEquals(report, {
    seen: [
      ["Empty", true],
      ["Full", true],
      ["BrokenBarrierError", true],
      ["TimeoutError", true],
    ],
    acquired: false,
    classes: [true, true, true],
  });
  held.release();
});

Deno.test("served: an RLock counts per child and refuses a child that does not hold it", async () => {
  const rlock = new mp.RLock();
  const holding = new mp.Event();
  const go = new mp.Event();
  const out = new mp.Queue<unknown>();
  const a = start("holdRLock", [rlock, holding, go]);
  assert(await holding.wait(30));
  const b = start("tryRLock", [rlock, out]);
  const seen = await out.get({ timeout: 30 }) as {
    early: boolean;
    releaseError: string;
  };
  assertEquals(seen.early, false);
  assert(
    seen.releaseError.includes("held by another process"),
    seen.releaseError,
  );
  // The parent cannot take it either while the child holds it twice.
  assertEquals(await rlock.acquire({ timeout: 0.05 }), false);
  go.set();
  assertEquals(await joinAll([a, b]), [0, 0]);
  assert(await rlock.acquire({ timeout: 5 }));
  rlock.release();
});

Deno.test("served: a lock held by a killed child passes on, flagged", async () => {
  const lock = new mp.Lock();
  const holding = new mp.Event();
  const p = start("holdUntilKilled", [lock, holding]);
  assert(await holding.wait(30));
  assertEquals(await lock.acquire({ timeout: 0.05 }), false);
  p.kill();
  await p.join();
  assertEquals(p.exitCode, -9);
  using held = await lock.lock({ timeout: 5 });
  assertEquals(held.ownerDied, true);
});

Deno.test("served: Barrier, Event and Condition coordinate children and the parent", async () => {
  const barrier = new mp.Barrier(3);
  const event = new mp.Event();
  const cond = new mp.Condition();
  const v = new mp.Value("i", 0, { lock: false });
  const out = new mp.Queue<unknown>();
  const ps = [
    start("waiter", [barrier, event, cond, v, out]),
    start("waiter", [barrier, event, cond, v, out]),
  ];
  const mine = await barrier.wait(30);
  event.set();
  for (let i = 1; i <= 3; i++) {
    await new Promise((r) => setTimeout(r, 20));
    using _held = await cond.lock();
    v.value = i;
    cond.notifyAll();
  }
  const reports = [
    await out.get({ timeout: 30 }),
    await out.get({ timeout: 30 }),
  ] as {
    index: number;
    set: boolean;
    seen: number;
    parties: number;
  }[];
  assertEquals(await joinAll(ps), [0, 0]);
  const indexes = [mine, ...reports.map((r) => r.index)].sort();
  assertEquals(indexes, [0, 1, 2]);
  for (const r of reports) {
    assertEquals(r.set, true);
    assertEquals(r.seen, 3);
    assertEquals(r.parties, 3);
  }
});

Deno.test("served: a child's Barrier abort()/reset() never wedges the parent serving another's wait()", async () => {
  // Run as a program of its own: a wedged parent cannot even be stopped
  // by SIGTERM, so the deadline kills it and the test fails.
  const run = await runDeno("./barrier_abort_main.ts", ["1500"], 90);
  assert(!run.timedOut, `the parent hung serving the barrier\n${run.stderr}`);
  assertEquals(run.code, 0, run.stderr);
  assertStringIncludes(run.stdout, "exit 0 0 0");
  const ticks = Number(/ticks (\d+)/.exec(run.stdout)?.[1]);
  assert(ticks > 10, `the parent's event loop stalled: ${run.stdout}`);
});

Deno.test("served: big items through a child's recvSync/sendSync cost about what the async path does", async () => {
  // Issue 11.8: the blocking twins took 20× the async path for 4–16 MiB
  // (Deno's receiveMessageOnPort is slow for typed-array views). Times
  // are compared within this test, so machine load hits both alike.
  const item = new Uint8Array(8 << 20).fill(7);
  item[item.length - 1] = 9;
  const echoTime = async (blocking: boolean) => {
    const [a, b] = mp.Pipe();
    const p = start("echoN", [b, 3, blocking]);
    await a.send(item); // warm up the child and its helper thread
    await a.recv();
    const t = performance.now();
    for (let i = 0; i < 2; i++) {
      await a.send(item);
      const back = (await a.recv()) as Uint8Array;
      assertEquals(back.length, item.length);
      assertEquals(back[back.length - 1], 9);
    }
    const ms = performance.now() - t;
    assertEquals(await joinAll([p]), [0]);
    a.close();
    return ms;
  };
  const awaited = await echoTime(false);
  const blocking = await echoTime(true);
  assert(
    blocking < 3 * awaited + 1500,
    `blocking ${blocking.toFixed(0)} ms, async ${awaited.toFixed(0)} ms`,
  );
});

Deno.test("served: a Semaphore(2) admits at most two children at once", async () => {
  const sem = new mp.Semaphore(2);
  const now = new mp.Value("i", 0);
  const peak = new mp.Value("i", 0);
  const ps = [0, 1, 2, 3].map(() => start("useSlot", [sem, now, peak]));
  assertEquals(await joinAll(ps), [0, 0, 0, 0]);
  assertEquals(now.value, 0);
  assert(peak.value >= 1 && peak.value <= 2, `peak ${peak.value}`);
  assertEquals(sem.getValue(), 2);
});

Deno.test("served: a Pipe end in a child answers, then sees EOF", async () => {
  const [mine, theirs] = mp.Pipe();
  const p = start("echo", [theirs]);
  for (let i = 0; i < 50; i++) {
    await mine.send({ i });
    assertEquals(await mine.recv({ timeout: 30 }), [{ i }, "pong"]);
  }
  mine.close();
  assertEquals(await joinAll([p]), [0]);
});

Deno.test("served: an Array is indexed, iterated and sliced in a child", async () => {
  const a = new mp.Array("d", [1, 2.5, 3, 4]);
  const out = new mp.Queue<unknown>();
  const p = start("doubleAll", [a, out]);
  assertEquals(await out.get({ timeout: 30 }), {
    length: 4,
    typecode: "d",
    iterated: [2, 5, 6, 8],
    slice: [5, 6],
  });
  assertEquals(await joinAll([p]), [0]);
  assertEquals(a.toArray(), [2, 5, 6, 8]);
});

Deno.test("served: JoinableQueue.join waits for a child's taskDone calls", async () => {
  const q = new mp.JoinableQueue<number | null>();
  const seen = new mp.Value("i", 0);
  const p = start("drain", [q, seen]);
  for (let i = 1; i <= 100; i++) await q.put(i);
  await q.put(null);
  await q.join({ timeout: 30 });
  assertEquals(seen.value, 5050);
  assertEquals(await joinAll([p]), [0]);
});

Deno.test("served: SimpleQueue relays through a child", async () => {
  const from = new mp.SimpleQueue<unknown>();
  const to = new mp.SimpleQueue<unknown>();
  const p = start("relay", [from, to]);
  const items = [1, "two", { three: [3] }, new Map([[4, 4n]]), null];
  for (const item of items) await from.put(item);
  for (const item of items) assertEquals(await to.get(), item);
  assertEquals(await joinAll([p]), [0]);
});

Deno.test("served: a child's close() closes its own queue handle, not the parent's", async () => {
  const q = new mp.Queue<number>();
  const p = start("closeOwnHandle", [q]);
  assertEquals(await joinAll([p]), [0]);
  assertEquals(await q.get({ timeout: 5 }), 1);
  await q.put(3);
  assertEquals(await q.get({ timeout: 5 }), 3);
});

Deno.test("served: a sandboxed child (permissions none) blocks on served primitives", async () => {
  const lock = new mp.Lock();
  const v = new mp.Value("i", 0);
  const p = start("countSync", [lock, v, 50], { permissions: "none" });
  assertEquals(await joinAll([p]), [0]);
  assertEquals(v.value, 50);
});

Deno.test("served: Pool tasks, initargs and results carry primitives", async () => {
  const fromInit = new mp.Queue<number>();
  await using pool = new mp.Pool(2, {
    startMethod: "subprocess",
    module: TASKS,
    initializer: served.keepQueue,
    initargs: [fromInit],
  });
  const v = new mp.Value("i", 0);
  const sums = await pool.starmap(
    served.addTo,
    Array.from({ length: 40 }, () => [v, 1] as [mp.Value<"i">, number]),
    1,
  );
  assertEquals(v.value, 40);
  assertEquals(new Set(sums).size, 40);
  await pool.map(served.putOnInitQueue, [1, 2, 3, 4], 1);
  const got = [];
  for (let i = 0; i < 4; i++) got.push(await fromInit.get({ timeout: 30 }));
  assertEquals(got.sort(), [1, 2, 3, 4]);
  const lock = new mp.Lock();
  assertStrictEquals(await pool.apply(served.same, [lock]), lock);
  const back = await pool.apply(served.same, [[v, { deep: lock }]]) as [
    unknown,
    { deep: unknown },
  ];
  assertStrictEquals(back[0], v);
  assertStrictEquals(back[1].deep, lock);
  assertInstanceOf(back[1].deep, mp.Lock);
});

Deno.test("served: joinSync refuses to wait for good on a child it serves, and waits with a timeout", async () => {
  const lock = new mp.Lock();
  const holding = new mp.Event();
  const p = start("holdUntilKilled", [lock, holding]);
  assert(await holding.wait(30));
  const err = assertThrows(() => p.joinSync());
  assertStringIncludes(
    (err as Error).message,
    "primitives this program serves",
  );
  const t0 = performance.now();
  p.joinSync(0.2);
  assert(performance.now() - t0 >= 190);
  assertEquals(p.isAlive(), true);
  p.kill();
  await p.join();
  assertEquals(p.exitCode, -9);
});

Deno.test("served: a child cannot pass a served primitive on to its own subprocess child", async () => {
  const out = new mp.Queue<string>();
  const p = start("passOn", [new mp.Lock(), out]);
  const message = await out.get({ timeout: 30 });
  assertEquals(await joinAll([p]), [0]);
  assertStringIncludes(message, "Cannot pass on a 'Lock'");
});

async function killWhileWaiting(
  what: "get" | "recv" | "acquire" | "semaphore",
  target: unknown,
): Promise<void> {
  const out = new mp.Queue<string>();
  const p = start("leaveWaiting", [what, target, out]);
  assertEquals(await out.get({ timeout: 30 }), "waiting");
  p.kill();
  await p.join();
}

Deno.test("served: a child killed in get() takes no item with it", async () => {
  const q = new mp.Queue<number>();
  await killWhileWaiting("get", q);
  await killWhileWaiting("get", q);
  for (let i = 0; i < 5; i++) await q.put(i);
  // Give a get left waiting for a dead child every chance to take one.
  await new Promise((r) => setTimeout(r, 200));
  const got = [];
  for (let i = 0; i < 5; i++) got.push(await q.get({ timeout: 5 }));
  assertEquals(got, [0, 1, 2, 3, 4]);
});

Deno.test("served: a child killed in recv() takes no message with it", async () => {
  const [mine, theirs] = mp.Pipe();
  await killWhileWaiting("recv", theirs);
  await mine.send("kept");
  await new Promise((r) => setTimeout(r, 200));
  assertEquals(await theirs.recv({ timeout: 5 }), "kept");
  mine.close();
});

Deno.test("served: a lock or semaphore a killed child waited for comes back free", async () => {
  const lock = new mp.Lock();
  const sem = new mp.Semaphore(1);
  await lock.acquire();
  await sem.acquire();
  await killWhileWaiting("acquire", lock);
  await killWhileWaiting("semaphore", sem);
  lock.release();
  sem.release();
  // The dead child's acquires complete now, and are given back.
  await new Promise((r) => setTimeout(r, 200));
  assertEquals(lock.locked(), false);
  assertEquals(sem.getValue(), 1);
  using held = await lock.lock({ timeout: 5 });
  assertEquals(held.ownerDied, false);
});

Deno.test("served: waits left by killed children do not keep the program alive", async () => {
  const main = new URL("./testdata/dead_waiter_main.ts", import.meta.url);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", main.href],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const out = await child.output();
  clearTimeout(timer);
  assertEquals(new TextDecoder().decode(out.stdout).trim(), "done");
  assertEquals(out.code, 0);
});

Deno.test("served: the parent lets go of primitives a child no longer holds", async () => {
  // The child collects garbage (--expose-gc, inherited by its children);
  // each collected stand-in tells the parent, which drops its handle.
  const main = new URL("./testdata/served_gc_main.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--v8-flags=--expose-gc", main.href],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assertEquals(out.code, 0);
  const served = Number(new TextDecoder().decode(out.stdout).trim());
  // 30 locks were sent, 28 of them different; at most the last is held.
  assert(served <= 1, `still serving ${served} primitives`);
});
