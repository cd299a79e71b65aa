/**
 * Tests of the manager's server as other processes meet it: used from
 * another OS process (`serveManager()` / `connectManager()`), dying alone
 * when it runs out of memory, and its defences (wrong and short authkeys,
 * strangers that stall, junk and oversized frames). The proxies' own
 * behaviour is in `manager_test.ts`; the wire's units in
 * `manager_wire_test.ts`.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "@std/assert";
import * as mp from "../mod.ts";
import {
  firstLine,
  joinAll,
  runDeno,
  starter,
  testdata,
} from "./testdata/helpers.ts";
import * as wire from "../lib/_manager/wire.ts";
import { frame, FrameReader } from "../lib/_manager/frames.ts";
import { clientHandshake } from "../lib/_manager/handshake.ts";

const TASKS = testdata("manager_tasks.ts");
const SERVER = testdata("manager_server.ts");

/** Starts a process running `name` from `manager_tasks.ts`. */
const start = starter(TASKS);

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
  const reader = new FrameReader(conn, wire.HANDSHAKE_MAX_FRAME);
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
    for (let i = 0; i < wire.MAX_UNAUTHENTICATED; i++) {
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
      performance.now() - tExtra < wire.SERVER_HANDSHAKE_MS,
      "the connection over the cap waited for the handshake deadline",
    );
    // The silent ones are dropped at the (short) handshake deadline, after
    // the server's hello.
    for (const seen of await Promise.all(ends)) assert(seen > 0);
    const waited = performance.now() - t0;
    assert(
      waited >= wire.SERVER_HANDSHAKE_MS - 100 &&
        waited < 3 * wire.SERVER_HANDSHAKE_MS,
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
      const r = new FrameReader(conn, wire.HANDSHAKE_MAX_FRAME);
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
    const r = new FrameReader(conn, wire.HANDSHAKE_MAX_FRAME);
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
    await c.write(
      wire.messageFrame({ i: 1, o: 1, m: "get", a: [{ $: "eval" }] }),
    );
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
      wire.messageFrame({ i: 7, o: d.objectId, m: "constructor", a: [] }),
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
