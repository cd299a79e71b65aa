import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertLess,
  assertRejects,
  assertThrows,
} from "@std/assert";
import {
  BrokenPipeError,
  Connection,
  EOFError,
  Pipe,
  Process,
  type StartMethod,
  TimeoutError,
} from "../mod.ts";
import { joinAll, starter } from "./testdata/helpers.ts";

const TASKS = new URL("./testdata/queue_tasks.ts", import.meta.url).href;

const start = starter(TASKS);
const joinOk = (p: Process) => joinAll([p]);

/**
 * Receives until EOFError; the messages received before it. Any other
 * error fails the test.
 */
async function recvUntilEOF(conn: Connection): Promise<unknown[]> {
  const got = [];
  for (;;) {
    try {
      got.push(await conn.recv({ timeout: 60 }));
    } catch (e) {
      if (e instanceof EOFError) return got;
      throw e;
    }
  }
}

/**
 * Has a worker echo each value from `b` back to `a`, and checks that each
 * comes back equal; then ends the worker and closes `a`.
 */
async function assertEchoed(
  a: Connection,
  b: Connection,
  values: unknown[],
): Promise<void> {
  const p = start("echo", [b]);
  for (const v of values) {
    await a.send(v);
    assertEquals(await a.recv({ timeout: 60 }), v);
  }
  await a.send(null);
  await joinOk(p);
  a.close();
}

Deno.test("Pipe() is duplex: both ends send and receive across processes", async () => {
  const [a, b] = Pipe();
  assert(a.readable && a.writable && b.readable && b.writable);
  await assertEchoed(a, b, [
    1,
    "two",
    { three: [3n, new Date(3)] },
    new Map([["four", new Set([4])]]),
    new Uint8Array([5, 5]),
    new Float32Array([6.5]),
  ]);
});

Deno.test("Pipe(false) gives a receive-only end, then a send-only end", async () => {
  const [r, w] = Pipe(false);
  assert(r.readable && !r.writable);
  assert(w.writable && !w.readable);
  await assertRejects(() => r.send(1), Error, "only receives");
  await assertRejects(() => w.recv(), Error, "only sends");
  const [back, backW] = Pipe(false);
  const reader = start("recvAll", [r, backW]);
  const writer = start("sendAll", [w, 10_000]);
  // Python's idiom: the parent closes its copies of the children's ends,
  // so the reader sees EOF once the writer closed its own.
  r.close();
  w.close();
  backW.close();
  assertEquals(await back.recv({ timeout: 60 }), {
    count: 10_000,
    sum: (10_000 * 9_999) / 2,
  });
  await joinOk(writer);
  await joinOk(reader);
  back.close();
});

Deno.test("Connection.recv() after the other end closed and drained throws EOFError", async () => {
  const [a, b] = Pipe();
  await b.send("last");
  b.close();
  assert(b.closed);
  assertEquals(await a.recv(), "last");
  await assertRejects(() => a.recv(), EOFError);
  assertThrows(() => a.recvSync(), EOFError);
  assert(await a.poll(), "poll() is true at EOF: recv() would not wait");
  await assertRejects(() => a.send(1), BrokenPipeError);
  a.close();
});

Deno.test("Connection.recv() that waits wakes with EOFError when a worker closes the other end", async () => {
  const [r, w] = Pipe(false);
  const writer = start("sendAll", [w, 3]);
  w.close();
  assertEquals(await recvUntilEOF(r), [0, 1, 2]);
  await joinOk(writer);
  r.close();
});

Deno.test("Connection.poll() waits up to its timeout", async () => {
  const [a, b] = Pipe();
  assertEquals(await a.poll(), false);
  const t0 = performance.now();
  assertEquals(await a.poll(0.1), false);
  const took = performance.now() - t0;
  assertGreaterOrEqual(took, 95);
  assertLess(took, 1000);
  assertEquals(a.pollSync(0.01), false);
  setTimeout(() => b.sendSync("late"), 20);
  assertEquals(await a.poll(5), true);
  assertEquals(a.pollSync(), true);
  assertEquals(await a.recv(), "late");
  a.close();
  b.close();
});

Deno.test("Connection.poll() with a negative timeout does not wait, as in Python", async () => {
  const [a, b] = Pipe();
  const t0 = performance.now();
  assertEquals(await a.poll(-1), false);
  assertEquals(a.pollSync(-1), false);
  assertLess(performance.now() - t0, 1000);
  await b.send("x");
  assertEquals(await a.poll(-1), true);
  assertThrows(() => a.pollSync(NaN), TypeError, "NaN");
  await assertRejects(
    () => a.poll("1" as unknown as number),
    TypeError,
    `got the string "1"`,
  );
  a.close();
  b.close();
});

Deno.test("Connection.recv() with a timeout throws TimeoutError", async () => {
  const [a, b] = Pipe();
  await assertRejects(() => a.recv({ timeout: 0.05 }), TimeoutError);
  assertThrows(() => a.recvSync({ timeout: 0.01 }), TimeoutError);
  a.close();
  b.close();
});

Deno.test("Connection.sendBytes() and recvBytes() round-trip bytes", async () => {
  const [a, b] = Pipe(true, { bufferSize: 1024 });
  const p = start("echo", [b]);
  const bytes = new Uint8Array(256).map((_, i) => i);
  await a.sendBytes(bytes);
  assertEquals(await a.recvBytes(), bytes);
  await a.sendBytes(bytes.buffer, 10, 5);
  assertEquals(await a.recvBytes(5), bytes.slice(10, 15));
  const big = new Uint8Array(100_000).map((_, i) => i % 251);
  await a.sendBytes(big);
  assertEquals(await a.recvBytes(), big);
  a.sendBytesSync(new Uint16Array([1, 2]));
  assertEquals(a.recvBytesSync(), new Uint8Array([1, 0, 2, 0]));
  await a.sendBytes(bytes);
  await assertRejects(() => a.recvBytes(10), RangeError, "maxlength");
  assertThrows(() => a.sendBytesSync(bytes, 300), RangeError);
  await a.send(null);
  await joinOk(p);
  a.close();
});

Deno.test("Pipe() passes an item larger than its buffer", async () => {
  const [a, b] = Pipe(true, { bufferSize: 256 });
  await assertEchoed(a, b, [{
    s: "é".repeat(50_000),
    list: Array.from({ length: 1000 }, (_, i) => i),
  }]);
});

Deno.test("Connection.close() ends this handle's waits and later calls", async () => {
  const [a, b] = Pipe();
  const waiting = a.recv();
  const polling = a.poll(null);
  a.close();
  await assertRejects(() => waiting, Error, "closed");
  assertEquals(await polling, false);
  await assertRejects(() => a.recv(), Error, "closed");
  await assertRejects(() => b.send(1), BrokenPipeError);
  a.close();
  b.close();
});

Deno.test("Connection closes with using (Symbol.dispose)", () => {
  const [a, b] = Pipe();
  {
    using end = a;
    end.sendSync(1);
  }
  assert(a.closed);
  assertEquals(b.recvSync(), 1);
  assertThrows(() => b.recvSync(), EOFError);
  b.close();
});

Deno.test("Connection cannot be made with new", () => {
  assertThrows(() => new Connection(), TypeError, "Pipe()");
});

// --- issue 10 item 6: each process holds its own handle, as in Python ---

for (const sm of ["worker", "subprocess"] as StartMethod[]) {
  const run = (name: string, args: unknown[]): Process => {
    const p = new Process({
      target: { module: TASKS, name },
      args,
      startMethod: sm,
    });
    p.start();
    return p;
  };

  Deno.test(`[${sm}] Python's pipe idiom: the parent closes the child's end after start; recv() gets EOFError once the child ended`, async () => {
    const [parentConn, childConn] = Pipe();
    const p = run("sendAndEnd", [childConn, 3]);
    childConn.close();
    assert(childConn.closed && !parentConn.closed);
    assertEquals(await recvUntilEOF(parentConn), [0, 1, 2]);
    await joinOk(p);
    await assertRejects(() => parentConn.send(1), BrokenPipeError);
    parentConn.close();
  });

  Deno.test(`[${sm}] recv() gets EOFError when the only other holder threw or was killed`, async () => {
    const [a, b] = Pipe();
    const thrower = run("sendThenThrow", [b]);
    b.close();
    assertEquals(await recvUntilEOF(a), ["before"]);
    await thrower.join(30);
    assertEquals(thrower.exitCode, 1);
    a.close();

    const [c, d] = Pipe();
    const waiter = run("readyThenWait", [d]);
    d.close();
    assertEquals(await c.recv({ timeout: 60 }), "ready");
    waiter.kill();
    await assertRejects(() => c.recv({ timeout: 60 }), EOFError);
    await waiter.join(30);
    c.close();
  });

  Deno.test(`[${sm}] send() gets BrokenPipeError once no process holds the receiving end`, async () => {
    const [r, w] = Pipe(false);
    const p = run("recvOneAndEnd", [r]);
    r.close();
    await w.send("one");
    await joinOk(p);
    await assertRejects(() => w.send("two"), BrokenPipeError);
    assertThrows(() => w.sendSync("two"), BrokenPipeError);
    w.close();
  });
}

Deno.test("Connection.close() closes this process's handle only: a child holding the end still sends", async () => {
  const [r, w] = Pipe(false);
  const writer = start("sendAll", [w, 5]);
  // A parent that keeps its copy open never sees EOF, as in Python; here
  // it closes it, and the child's handle goes on working.
  w.close();
  assertEquals(await recvUntilEOF(r), [0, 1, 2, 3, 4]);
  await joinOk(writer);
  r.close();
});
