// What crosses between processes is what `structuredClone` gives: cycles
// and shared references survive, typed arrays own an exact buffer, holes
// stay holes. Every path: task arguments and results, Process arguments,
// Queue and Pipe items, under both start methods.
import { assert, assertEquals, assertStrictEquals } from "@std/assert";
import { Pipe, Pool, Process, Queue, type StartMethod } from "../mod.ts";
import { decodeShared, encodeShared } from "../lib/_transfer.ts";
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
