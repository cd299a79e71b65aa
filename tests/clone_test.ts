// What crosses between processes is what `structuredClone` gives: cycles
// and shared references survive, typed arrays own an exact buffer, holes
// stay holes. Every path: task arguments and results, Process arguments,
// Queue and Pipe items, under both start methods.
import { assert, assertEquals, assertStrictEquals } from "@std/assert";
import { Lock, Pipe, Pool, Process, Queue, type StartMethod } from "../mod.ts";
import { decodeShared, encodeShared } from "../lib/_common/transfer.ts";
import * as tasks from "./testdata/clone_tasks.ts";

const TASKS = new URL("./testdata/clone_tasks.ts", import.meta.url).href;
const METHODS: StartMethod[] = ["worker", "subprocess"];

function target(name: keyof typeof tasks) {
  return { module: TASKS, name };
}

async function run(
  startMethod: StartMethod,
  name: keyof typeof tasks,
  args: unknown[],
): Promise<Process> {
  const p = new Process({ target: target(name), args, startMethod });
  p.start();
  await p.join(60);
  return p;
}

/** A class of the program's own, holding a primitive. */
class Job {
  constructor(readonly name: string, readonly lock: Lock) {}
}

function selfCycle(): unknown[] {
  const a: unknown[] = [];
  a.push(a);
  return a;
}

/** Typed arrays and a DataView, each of its own exact buffer. */
function views(): ArrayBufferView[] {
  return [
    new Float64Array([1.5]),
    new Int32Array([7, 8]),
    new DataView(new Uint8Array([1, 2, 3]).buffer),
    new BigInt64Array([5n]),
  ];
}

function assertOwnView(v: unknown, what: string): void {
  if (!ArrayBuffer.isView(v)) throw new Error(`${what}: not a view`);
  assertEquals(tasks.describeView(v), { own: true, transferable: true }, what);
}

for (const sm of METHODS) {
  Deno.test(`[${sm}] a Lock inside a Map or a Set in task arguments arrives working, keys in order`, async () => {
    await using pool = new Pool(1, { startMethod: sm });
    const lock = new Lock();
    const keyLock = new Lock();
    const m = new Map<unknown, unknown>([
      ["a", 1],
      [keyLock, "as a key"],
      ["lock", lock],
      ["z", 2],
    ]);
    const s = new Set<unknown>(["x", lock]);
    const cyc: { self: unknown; inner: Map<string, unknown> } = {
      self: null,
      inner: new Map([["lock", lock]]),
    };
    cyc.self = cyc;
    assertEquals(
      await pool.apply(target("useLocksInCollections"), [m, s, cyc]),
      ["a", "lock-key", "lock", "z"],
    );
    // The caller's own collections are left as they were.
    assertStrictEquals(m.get("lock"), lock);
    assert(s.has(lock));
  });

  Deno.test(`[${sm}] a Lock held by a class instance in task arguments arrives working`, async () => {
    await using pool = new Pool(1, { startMethod: sm });
    const job = new Job("nightly", new Lock());
    // It arrives as structuredClone makes it (a plain object), its lock
    // working; the caller's instance is left as it was.
    assertEquals(
      await pool.apply(target("useLockInInstance"), [job]),
      { name: "nightly", plain: true },
    );
    assert(job instanceof Job);
    assert(job.lock instanceof Lock);
  });

  Deno.test(`[${sm}] a cyclic value crosses as a task argument and a task result`, async () => {
    await using pool = new Pool(1, { startMethod: sm });
    assertEquals(await pool.apply(target("isSelfCycle"), [selfCycle()]), true);
    const r = await pool.apply(target("makeCycle"), []) as { self: unknown };
    assertStrictEquals(r.self, r);
  });

  Deno.test(`[${sm}] a cyclic Process argument holding a Queue arrives with its cycle and a working queue`, async () => {
    const q = new Queue<string>();
    const o: { q: Queue<string>; self: unknown } = { q, self: null };
    o.self = o;
    const p = await run(sm, "useQueueInCycle", [o]);
    assertEquals(p.exitCode, 0);
    assertEquals(await q.get({ timeout: 10 }), "cycle kept");
  });

  Deno.test(`[${sm}] a child gets a cyclic queue item, and puts one that arrives`, async () => {
    const q = new Queue();
    const out = new Queue<Record<string, unknown>>();
    await q.put(selfCycle());
    const p = await run(sm, "describeFromQueue", [q, out]);
    assertEquals(p.exitCode, 0);
    assertEquals(q.qsize(), 0);
    assertEquals((await out.get({ timeout: 10 })).selfCycle, true);
    const p2 = await run(sm, "putCycle", [q]);
    assertEquals(p2.exitCode, 0);
    const r = await q.get({ timeout: 10 }) as { self: unknown };
    assertStrictEquals(r.self, r);
  });

  Deno.test(`[${sm}] typed arrays received own an exact, transferable buffer (task, Queue, Pipe)`, async () => {
    await using pool = new Pool(1, { startMethod: sm });
    const q = new Queue();
    const out = new Queue<Record<string, unknown>>();
    const [a, b] = Pipe();
    try {
      for (const v of views()) {
        const what = Object.prototype.toString.call(v);
        assertEquals(
          await pool.apply(target("describeValue"), [v]),
          { kind: "view", own: true, transferable: true },
          `${what} as a task argument`,
        );
        assertOwnView(
          await pool.apply(target("identity"), [v]),
          `${what} as a task result`,
        );
        await q.put(v);
        const p = await run(sm, "describeFromQueue", [q, out]);
        assertEquals(p.exitCode, 0);
        assertEquals(
          await out.get({ timeout: 10 }),
          { kind: "view", own: true, transferable: true },
          `${what} got from a Queue`,
        );
        const c = new Process({
          target: target("describeFromPipe"),
          args: [b],
          startMethod: sm,
        });
        c.start();
        await a.send(v);
        assertEquals(
          await a.recv({ timeout: 30 }),
          { kind: "view", own: true, transferable: true },
          `${what} received from a Pipe`,
        );
        await c.join(30);
        // And in this process, after other items went through the ring.
        await q.put(v);
        assertOwnView(await q.get(), `${what} got here`);
      }
    } finally {
      a.close();
      b.close();
    }
  });

  Deno.test(`[${sm}] a 16 MiB typed array crosses a task both ways intact and quickly`, async () => {
    await using pool = new Pool(1, { startMethod: sm });
    const big = new Uint8Array(16 << 20);
    for (let i = 0; i < big.length; i += 4093) big[i] = i % 251;
    big[big.length - 1] = 7;
    const want = tasks.summarize(big);
    await pool.apply(target("identity"), [1]);
    // What cloning these bytes costs on this machine, now: the old code
    // took ~240 ns a byte to receive a view in a pool worker (5 s here,
    // some 40 times a structuredClone), whatever the load.
    let t0 = performance.now();
    for (let i = 0; i < 10; i++) structuredClone(big);
    const tenClones = performance.now() - t0;
    t0 = performance.now();
    const got = await pool.apply(target("summarize"), [big]);
    const back = await pool.apply(target("identity"), [{ a: [big] }]) as {
      a: Uint8Array[];
    };
    const took = performance.now() - t0;
    assertEquals(got, { ...want, own: true });
    assertEquals(tasks.summarize(back.a[0]), { ...want, own: true });
    assertEquals(big.byteLength, 16 << 20, "not transferred");
    if (sm === "worker") {
      assert(
        took < tenClones + 1000,
        `a 16 MiB argument and result took ${
          took.toFixed(0)
        } ms; 10 structuredClone() of it ${tenClones.toFixed(0)} ms`,
      );
    }
  });

  Deno.test(`[${sm}] sparse arrays keep their holes through a Queue and a task`, async () => {
    await using pool = new Pool(1, { startMethod: sm });
    // deno-lint-ignore no-sparse-arrays
    const sparse = [1, , 3];
    const holes = [false, true, false];
    assertEquals(
      (await pool.apply(target("describeValue"), [sparse]) as {
        holes: boolean[];
      }).holes,
      holes,
    );
    const q = new Queue();
    const out = new Queue<Record<string, unknown>>();
    await q.put(sparse);
    const p = await run(sm, "describeFromQueue", [q, out]);
    assertEquals(p.exitCode, 0);
    assertEquals((await out.get({ timeout: 10 })).holes, holes);
  });
}

Deno.test("encodeShared() and decodeShared() keep cycles and shared references", () => {
  const q = new Queue();
  const shared = { n: 1 };
  const o: Record<string, unknown> = { q, a: shared, b: shared, list: [] };
  o.self = o;
  (o.list as unknown[]).push(o, shared);
  const wire = encodeShared(o) as Record<string, unknown>;
  assert(wire !== o, "a value holding a Queue is copied");
  assertStrictEquals(wire.self, wire);
  assertStrictEquals(wire.a, wire.b);
  assertStrictEquals((wire.list as unknown[])[0], wire);
  const back = decodeShared(structuredClone(wire)) as Record<string, unknown>;
  assertStrictEquals(back.q, q);
  assertStrictEquals(back.self, back);
  assertStrictEquals(back.a, back.b);
  // Nothing to replace: the same value, cycles and all.
  const plain: unknown[] = [1];
  plain.push(plain);
  assertStrictEquals(encodeShared(plain), plain);
});

Deno.test("encodeShared() sends big views as bare buffers, with structuredClone's result", () => {
  const buf = new ArrayBuffer(4096);
  new Uint8Array(buf).fill(3);
  const whole = new Float64Array(buf);
  const part = new Uint8Array(buf, 100, 50);
  const dv = new DataView(buf, 8, 16);
  const sab = new Int32Array(new SharedArrayBuffer(1024));
  const moved = new Uint16Array(512).fill(9);
  const resizable = new Uint8Array(
    new ArrayBuffer(256, { maxByteLength: 512 }),
  );
  const value = { whole, part, dv, again: part, sab, moved, resizable };
  const transfer: Transferable[] = [moved.buffer];
  const wire = encodeShared(value, transfer) as Record<string, unknown>;
  assert(!ArrayBuffer.isView(wire.whole), "a big view becomes a marker");
  assertStrictEquals(wire.resizable, resizable);
  const back = decodeShared(
    structuredClone(wire, { transfer }),
  ) as typeof value;
  assertEquals(moved.byteLength, 0, "a transferred buffer moved");
  assertEquals(back.moved, new Uint16Array(512).fill(9));
  assertEquals(back.whole, whole);
  assert(back.whole.buffer !== buf, "a copy");
  // Views over one buffer arrive over one copy of it, at their offsets.
  assertStrictEquals(back.part.buffer, back.whole.buffer);
  assertStrictEquals(back.dv.buffer, back.whole.buffer);
  assertEquals([back.part.byteOffset, back.part.length], [100, 50]);
  assertEquals([back.dv.byteOffset, back.dv.byteLength], [8, 16]);
  assert(back.dv instanceof DataView);
  assertStrictEquals(back.again, back.part);
  // Shared memory stays shared.
  back.sab[3] = 42;
  assertEquals(sab[3], 42);
  assert(back.resizable.buffer.resizable);
  // The sender's value is untouched.
  assertStrictEquals(value.part, part);
});
