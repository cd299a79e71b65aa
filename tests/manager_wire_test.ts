/**
 * Unit tests of the manager's wire (lib/_manager/wire.ts, frames.ts,
 * handshake.ts, values.ts): messages round-trip through frames and the
 * value encoding, frames come out whole however the stream cuts them, and
 * a bad frame, value or key ends in a clear error or verdict, never a hang.
 *
 * @module
 */

import {
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertThrows,
} from "@std/assert";
import {
  DEFAULT_MAX_FRAME,
  HANDSHAKE_MAX_FRAME,
  isRequest,
  isResponse,
  messageFrame,
  parseMessage,
  Ref,
  type RefData,
  type Request,
  type Response,
} from "../lib/_manager/wire.ts";
import {
  frame,
  FrameReader,
  FrameTooLarge,
  FrameWriter,
} from "../lib/_manager/frames.ts";
import {
  authkeyBytes,
  clientHandshake,
  serverHandshake,
} from "../lib/_manager/handshake.ts";
import {
  decodeValue,
  encodeValue,
  fromBase64,
  toBase64,
} from "../lib/_manager/values.ts";

// --- Helpers ------------------------------------------------------------

/** Encoding hooks that turn stored `Ref`s back into their data. */
const REFS = {
  ref: (o: object): RefData | undefined =>
    o instanceof Ref ? o.data : undefined,
};
/** Decoding hooks that keep references as `Ref`s (as the server does). */
const AS_REFS = { ref: (d: RefData): unknown => new Ref(d) };

/** A message through everything a real one goes through, and back. */
function roundTrip(value: unknown): unknown {
  const f = messageFrame({ i: 1, v: encodeValue(value, REFS) });
  const len = new DataView(f.buffer, f.byteOffset).getUint32(0);
  assertEquals(len, f.length - 4, "the header gives the payload's length");
  const msg = parseMessage(f.subarray(4)) as { v: unknown };
  return decodeValue(msg.v, AS_REFS);
}

/**
 * A connection that hands out `bytes` in the given read sizes (the last
 * one repeats), then the end of the stream. Only `read` is used by
 * `FrameReader`.
 */
function chunked(bytes: Uint8Array, sizes: number[]): Deno.Conn {
  let off = 0;
  let n = 0;
  const conn = {
    read(buf: Uint8Array): Promise<number | null> {
      if (off >= bytes.length) return Promise.resolve(null);
      const size = sizes[Math.min(n++, sizes.length - 1)];
      const k = Math.min(size, buf.length, bytes.length - off);
      buf.set(bytes.subarray(off, off + k));
      off += k;
      return Promise.resolve(k);
    },
  };
  return conn as unknown as Deno.Conn;
}

/** Every frame `reader` gives until the end of the stream. */
async function readAll(reader: FrameReader): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (;;) {
    const frames = await reader.next();
    if (frames === null) return out;
    out.push(...frames);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function bytesOf(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** A connected TCP pair on loopback; close both when done. */
async function tcpPair(): Promise<
  { client: Deno.TcpConn; server: Deno.TcpConn } & AsyncDisposable
> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [client, server] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  return {
    client,
    server,
    [Symbol.asyncDispose]() {
      for (const c of [client, server]) {
        try {
          c.close();
        } catch {
          // Closed by the test.
        }
      }
      return Promise.resolve();
    },
  };
}

// --- Messages -------------------------------------------------------------

Deno.test("wire: every request and response kind round-trips through a frame", () => {
  const messages: (Request | Response)[] = [
    { i: 1, o: 0, m: "create", a: ["dict", { a: 1 }] },
    { i: 2, o: 0, m: "register", a: ["jobs", { $: "r", v: { id: 3 } }] },
    { i: 3, o: 0, m: "lookup", a: ["jobs"] },
    { i: 4, o: 0, m: "unregister", a: ["jobs"] },
    { i: 5, o: 0, m: "names", a: [] },
    { i: 6, o: 7, m: "get", a: ["k", { $: "u" }] },
    { i: 7, v: 42 },
    { i: 8, v: null },
    { i: 9, v: { $: "u" } },
    { i: 10, e: { name: "Empty", message: "Cannot get an item" } },
  ];
  for (const msg of messages) {
    const back = parseMessage(messageFrame(msg).subarray(4));
    assertEquals(back, msg);
    assertEquals(isRequest(back), "m" in msg, JSON.stringify(msg));
    assertEquals(isResponse(back), !("m" in msg), JSON.stringify(msg));
  }
});

Deno.test("wire: malformed requests and responses are told apart", () => {
  for (
    const bad of [
      null,
      42,
      "x",
      {},
      { i: 1.5, o: 0, m: "get", a: [] },
      { i: 1, o: "0", m: "get", a: [] },
      { i: 1, o: 0, m: 7, a: [] },
      { i: 1, o: 0, m: "x".repeat(64), a: [] },
      { i: 1, o: 0, m: "get", a: {} },
    ]
  ) assertEquals(isRequest(bad), false, JSON.stringify(bad));
  for (
    const bad of [
      null,
      { v: 1 },
      { i: 1 },
      { i: 1, e: null },
      { i: 1, e: { name: "Error" } },
      { i: 1, e: { name: 1, message: "m" } },
    ]
  ) assertEquals(isResponse(bad), false, JSON.stringify(bad));
});

Deno.test("wire: a payload that is not UTF-8 JSON is an error, not a message", () => {
  assertThrows(() => parseMessage(new Uint8Array([0xff, 0xfe])), TypeError);
  assertThrows(
    () => parseMessage(new TextEncoder().encode("{nope")),
    SyntaxError,
  );
});

// --- Values ---------------------------------------------------------------

Deno.test("values: every tagged kind round-trips", () => {
  const typed = [
    new Int8Array([-1, 2]),
    new Uint8Array([1, 255]),
    new Uint8ClampedArray([0, 255]),
    new Int16Array([-300, 300]),
    new Uint16Array([65535]),
    new Int32Array([-1 << 30]),
    new Uint32Array([0xffff_ffff]),
    new Float32Array([1.5]),
    new Float64Array([Math.PI]),
    new BigInt64Array([-(1n << 62n)]),
    new BigUint64Array([(1n << 64n) - 1n]),
  ];
  for (const t of typed) {
    const back = roundTrip(t);
    assertInstanceOf(back, t.constructor as new () => unknown);
    assertEquals(back, t);
  }
  const withProto = JSON.parse('{"__proto__": 1, "a": 2}');
  const values: unknown[] = [
    undefined,
    NaN,
    Infinity,
    -Infinity,
    -0,
    0,
    "text ü 😀",
    true,
    null,
    12345678901234567890n,
    -5n,
    new Date(1_700_000_000_000),
    new Map<unknown, unknown>([[1, "a"], ["1", new Set([undefined])]]),
    new Set([1, "1", 1n]),
    { $: "looks like a tag", v: 1 },
    { nested: [{ deep: [undefined, -0] }] },
    new Ref({ id: 3, typeid: "dict" }),
    new Ref({
      id: 4,
      typeid: "Queue",
      address: ["10.0.0.1", 5],
      authkey: "a2V5",
    }),
  ];
  for (const v of values) assertEquals(roundTrip(v), v);
  assertEquals(Object.is(roundTrip(-0), -0), true, "-0 stays -0");
  const proto = roundTrip(withProto) as Record<string, unknown>;
  assertEquals(Object.getPrototypeOf(proto), Object.prototype);
  assertEquals(Object.getOwnPropertyDescriptor(proto, "__proto__")?.value, 1);
  const buf = roundTrip(new Uint8Array([9, 8, 7]).buffer);
  assertInstanceOf(buf, ArrayBuffer);
  assertEquals(new Uint8Array(buf as ArrayBuffer), new Uint8Array([9, 8, 7]));
  const err = roundTrip(new RangeError("out")) as Error;
  assertEquals([err.name, err.message], ["RangeError", "out"]);
});

Deno.test("values: what cannot cross is refused with a clear TypeError", () => {
  class Point {
    x = 1;
  }
  const cases: [unknown, string][] = [
    [() => 1, "Cannot send a function to the manager"],
    [Symbol("s"), "Cannot send a symbol to the manager"],
    [new Point(), "Cannot send a 'Point' to the manager"],
    [new DataView(new ArrayBuffer(1)), "Cannot send a 'DataView'"],
  ];
  for (const [value, message] of cases) {
    assertThrows(() => encodeValue({ a: [value] }, REFS), TypeError, message);
  }
  let deep: unknown = 1;
  for (let i = 0; i < 600; i++) deep = [deep];
  assertThrows(
    () => encodeValue(deep, REFS),
    TypeError,
    "it nests deeper than 512 levels",
  );
});

Deno.test("values: data no encoder makes is refused, naming its tag", () => {
  const cases: [unknown, string][] = [
    [{ $: "zz" }, "'zz'"],
    [{ $: "n", v: "12" }, "'n'"],
    [{ $: "bi", v: "1.5" }, "'bi'"],
    [{ $: "d", v: "today" }, "'d'"],
    [{ $: "ta", t: "Int32Array", v: toBase64(new Uint8Array(3)) }, "'ta'"],
    [{ $: "ta", t: "constructor", v: "" }, "'ta'"],
    [{ $: "e", v: { name: 1 } }, "'e'"],
    [{ $: "r", v: { id: 0, typeid: "dict" } }, "'r'"],
    [{ $: "r", v: { id: 1, typeid: "Function" } }, "'r'"],
    [{ $: "r", v: { id: 1, typeid: "dict", address: ["h", 1] } }, "'r'"],
  ];
  for (const [data, tag] of cases) {
    assertThrows(
      () => decodeValue(data, AS_REFS),
      TypeError,
      `Cannot decode a value tagged ${tag}`,
    );
  }
});

Deno.test("values: base64 round-trips every byte and an empty array", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assertEquals(fromBase64(toBase64(all)), all);
  assertEquals(fromBase64(toBase64(new Uint8Array())), new Uint8Array());
});

// --- Frames ---------------------------------------------------------------

Deno.test("FrameReader gives whole frames however the stream is cut", async () => {
  const payloads = [
    new Uint8Array(),
    bytesOf(1, 1),
    bytesOf(300, 2),
    bytesOf(70_000, 3), // over the 64 KiB read buffer
    bytesOf(5, 4),
  ];
  const stream = concat(payloads.map(frame));
  for (
    const sizes of [
      [1], // a byte at a time: headers split too
      [3, 2, 7], // a header split 3 + 1
      [stream.length], // all frames in one read
      [4, 1000, 65_536], // header alone, then pieces
    ]
  ) {
    const reader = new FrameReader(chunked(stream, sizes), 1 << 20);
    assertEquals(await readAll(reader), payloads, `reads of ${sizes}`);
  }
});

Deno.test("FrameReader gives several frames that arrive in one read together", async () => {
  const payloads = [bytesOf(10, 1), bytesOf(20, 2), bytesOf(30, 3)];
  const reader = new FrameReader(
    chunked(concat(payloads.map(frame)), [1 << 20]),
    1 << 20,
  );
  assertEquals(await reader.next(), payloads);
  assertEquals(await reader.next(), null);
});

Deno.test("FrameReader refuses a frame over its limit with FrameTooLarge", async () => {
  const reader = new FrameReader(chunked(frame(bytesOf(1025, 0)), [8]), 1024);
  const err = await assertRejects(() => reader.next(), FrameTooLarge);
  assertEquals(
    err.message,
    "Cannot read a frame of 1025 bytes: the limit is 1024 bytes",
  );
  // A header announcing 4 GiB is refused from the header alone: nothing
  // of that size is allocated or waited for.
  const huge = new Uint8Array([0xff, 0xff, 0xff, 0xff]);
  const before = new FrameReader(
    chunked(huge, [4]),
    HANDSHAKE_MAX_FRAME,
  );
  await assertRejects(
    () => before.next(),
    FrameTooLarge,
    "Cannot read a frame of 4294967295 bytes: the limit is 256 bytes",
  );
});

Deno.test("FrameReader ends (null) on a stream cut mid-frame, not a hang", async () => {
  const whole = frame(bytesOf(100, 0));
  for (const cut of [2, 4, 50]) {
    const reader = new FrameReader(chunked(whole.subarray(0, cut), [7]), 1024);
    assertEquals(await reader.next(), null, `cut after ${cut} bytes`);
  }
});

Deno.test("FrameReader in the handshake gives one frame at a time, then the raised limit applies", async () => {
  const small = [bytesOf(10, 1), bytesOf(20, 2)];
  const big = bytesOf(100_000, 3);
  const reader = new FrameReader(
    chunked(concat([...small, big].map(frame)), [1 << 20]),
    HANDSHAKE_MAX_FRAME,
  );
  assertEquals(await reader.next(), [small[0]]);
  assertEquals(await reader.next(), [small[1]]);
  await assertRejects(() => reader.next(), FrameTooLarge);
  reader.max = DEFAULT_MAX_FRAME;
  assertEquals(await reader.next(), [big]);
});

Deno.test("FrameWriter sends a big payload and many small frames in order over TCP", async () => {
  await using pair = await tcpPair();
  const big = bytesOf(8 * 1024 * 1024, 7);
  const small = Array.from({ length: 200 }, (_, i) => bytesOf(i, i));
  const errors: unknown[] = [];
  const writer = new FrameWriter(pair.client, (e) => errors.push(e));
  writer.send(frame(small[0]));
  writer.send(frame(big));
  for (const s of small.slice(1)) writer.send(frame(s));
  const reader = new FrameReader(pair.server, DEFAULT_MAX_FRAME);
  const got: Uint8Array[] = [];
  while (got.length < 201) {
    const frames = await reader.next();
    if (frames === null) throw new Error("the stream ended early");
    got.push(...frames);
  }
  assertEquals(got[1].length, big.length);
  assertEquals(got[1], big);
  assertEquals([got[0], ...got.slice(2)], small);
  assertEquals(errors, []);
});

Deno.test("FrameWriter reports a failed write once", async () => {
  await using pair = await tcpPair();
  const errors: unknown[] = [];
  const writer = new FrameWriter(pair.client, (e) => errors.push(e));
  pair.client.close();
  writer.send(frame(bytesOf(10, 0)));
  writer.send(frame(bytesOf(10, 1)));
  const t0 = performance.now();
  while (errors.length === 0 && performance.now() - t0 < 10_000) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assertEquals(errors.length, 1);
});

// --- Handshake ------------------------------------------------------------

async function handshake(clientKey: string, serverKey: string) {
  await using pair = await tcpPair();
  const [server, client] = await Promise.all([
    serverHandshake(
      pair.server,
      new FrameReader(pair.server, HANDSHAKE_MAX_FRAME),
      authkeyBytes(serverKey),
      123_456,
    ),
    clientHandshake(
      pair.client,
      new FrameReader(pair.client, HANDSHAKE_MAX_FRAME),
      authkeyBytes(clientKey),
    ),
  ]);
  return { server, client };
}

Deno.test("handshake: the same key passes both ways and tells the frame limit", async () => {
  assertEquals(await handshake("secret", "secret"), {
    server: "ok",
    client: 123_456,
  });
});

Deno.test("handshake: a wrong key is refused on both sides", async () => {
  assertEquals(await handshake("wrong", "secret"), {
    server: "refused",
    client: "refused",
  });
});

Deno.test("handshake: a peer that is not a manager is a protocol error, not a hang", async () => {
  await using pair = await tcpPair();
  const reader = new FrameReader(pair.client, HANDSHAKE_MAX_FRAME);
  // Not the "MPM1" hello.
  await pair.server.write(frame(new TextEncoder().encode("HTTP/1.1 200 OK")));
  assertEquals(
    await clientHandshake(pair.client, reader, authkeyBytes("k")),
    "protocol",
  );
});

Deno.test("handshake: a client that answers with the wrong length, or goes away, is a protocol error", async () => {
  for (const answer of [new Uint8Array(10), null]) {
    await using pair = await tcpPair();
    const done = serverHandshake(
      pair.server,
      new FrameReader(pair.server, HANDSHAKE_MAX_FRAME),
      authkeyBytes("k"),
      1024,
    );
    const hello = await new FrameReader(pair.client, HANDSHAKE_MAX_FRAME)
      .next();
    assertEquals(hello?.[0].length, 4 + 32, "MPM1 and a 32-byte nonce");
    if (answer === null) pair.client.close();
    else await pair.client.write(frame(answer));
    assertEquals(await done, "protocol");
  }
});

Deno.test("handshake: a server that closes after the hello refuses, not hangs", async () => {
  await using pair = await tcpPair();
  const reader = new FrameReader(pair.client, HANDSHAKE_MAX_FRAME);
  const verdict = clientHandshake(pair.client, reader, authkeyBytes("k"));
  const serverReader = new FrameReader(pair.server, HANDSHAKE_MAX_FRAME);
  const hello = new Uint8Array(4 + 32);
  hello.set(new TextEncoder().encode("MPM1"));
  await pair.server.write(frame(hello));
  await serverReader.next(); // the client's answer
  pair.server.close();
  assertEquals(await verdict, "refused");
});

Deno.test("authkeyBytes refuses an empty or non-byte key with a clear TypeError", () => {
  for (const key of ["", new Uint8Array(), 42 as unknown as string]) {
    assertThrows(
      () => authkeyBytes(key),
      TypeError,
      "Cannot use the authkey: it must be a non-empty string or Uint8Array",
    );
  }
  const bytes = new Uint8Array([1, 2]);
  const copy = authkeyBytes(bytes);
  bytes[0] = 9;
  assertEquals(copy, new Uint8Array([1, 2]), "a copy, not the caller's array");
});
