import { assert, assertEquals, assertThrows } from "@std/assert";
import * as mp from "../mod.ts";
import { joinAll, starter } from "./testdata/helpers.ts";

const TASKS = new URL("./testdata/sync_tasks.ts", import.meta.url).href;

/** Starts a process running `name` from `sync_tasks.ts`. */
const start = starter(TASKS);

Deno.test("Value holds every typecode, wrapping integers like ctypes", () => {
  assertEquals(new mp.Value("b", 127).value, 127);
  const b = new mp.Value("b", 0);
  b.value = 128;
  assertEquals(b.value, -128);
  const B = new mp.Value("B", 255);
  B.value += 1;
  assertEquals(B.value, 0);
  assertEquals(new mp.Value("h", -32768).value, -32768);
  assertEquals(new mp.Value("H", 65535).value, 65535);
  assertEquals(new mp.Value("i", -(2 ** 31)).value, -(2 ** 31));
  assertEquals(new mp.Value("I", 2 ** 32 - 1).value, 2 ** 32 - 1);
  assertEquals(new mp.Value("l", -5).value, -5);
  assertEquals(new mp.Value("L", 2 ** 32 - 1).value, 2 ** 32 - 1);
  assertEquals(new mp.Value("q", -(2n ** 63n)).value, -(2n ** 63n));
  assertEquals(new mp.Value("q", 7).value, 7n);
  assertEquals(new mp.Value("Q", 2n ** 64n - 1n).value, 2n ** 64n - 1n);
  assertEquals(new mp.Value("f", 0.1).value, Math.fround(0.1));
  assertEquals(new mp.Value("d", 0.1).value, 0.1);
  assert(Number.isNaN(new mp.Value("d", NaN).value));
  assertEquals(new mp.Value("d", -Infinity).value, -Infinity);
  assertEquals(new mp.Value("c", "A").value, new Uint8Array([65]));
  assertEquals(new mp.Value("c", new Uint8Array([200])).value[0], 200);
  assertEquals(new mp.Value("i").value, 0);
  assertEquals(new mp.Value("q").value, 0n);
  assertEquals(new mp.Value("c").value, new Uint8Array([0]));
});

Deno.test("Value rejects unknown typecodes and values that do not fit", () => {
  assertThrows(
    // deno-lint-ignore no-explicit-any
    () => new mp.Value("x" as any, 0),
    TypeError,
    "unknown typecode 'x'; use one of 'b', 'B', 'h', 'H', 'i', 'I', 'l', 'L', 'q', 'Q', 'f', 'd', 'c'",
  );
  // deno-lint-ignore no-explicit-any
  assertThrows(() => new mp.RawArray("z" as any, 1), TypeError, "'z'");
  assertThrows(() => new mp.Value("i", 1.5), TypeError, "integer");
  // deno-lint-ignore no-explicit-any
  assertThrows(() => new mp.Value("i", "1" as any), TypeError);
  // deno-lint-ignore no-explicit-any
  assertThrows(() => new mp.Value("q", "1" as any), TypeError, "bigint");
  assertThrows(() => new mp.Value("c", "ab"), TypeError, "one-byte");
  assertThrows(() => new mp.Value("c", "€"), TypeError);
  // deno-lint-ignore no-explicit-any
  assertThrows(() => new mp.Value("i", 0, { lock: 1 as any }), TypeError);
});

Deno.test("Value locks: an RLock by default, none, or one passed in", () => {
  const v = new mp.Value("i", 1);
  assert(v.getLock() instanceof mp.RLock);
  const bare = new mp.Value("i", 1, { lock: false });
  assertThrows(() => bare.getLock(), TypeError, "lock: false");
  const lock = new mp.Lock();
  const a = new mp.Value("d", 0, { lock });
  const b = new mp.Array("d", 2, { lock });
  assert(a.getLock() === lock && b.getLock() === lock);
  assertEquals(new mp.Value("i", 0, { lock: true }).getLock().locked(), false);
});

Deno.test("Value.getObj() is the same memory without the lock", () => {
  const v = new mp.Value("h", 3);
  const raw = v.getObj();
  assert(raw instanceof mp.RawValue);
  raw.value = 9;
  assertEquals(v.value, 9);
  assertEquals(v.typecode, "h");
  assertEquals(Deno.inspect(v), "Value('h', 9)");
});

Deno.test("Value: 8 processes x 10,000 increments under its lock give the exact total", async () => {
  const counter = new mp.Value("i", 0);
  const ps = Array.from(
    { length: 8 },
    () => start("incrementMany", [counter, 10_000]),
  );
  await joinAll(ps);
  assertEquals(counter.value, 80_000);
});

Deno.test("Value: async lock() guards from 4 processes give the exact total", async () => {
  const counter = new mp.Value("i", 0, { lock: new mp.Lock() });
  const ps = Array.from(
    { length: 4 },
    () => start("incrementManyAsync", [counter, 2_000]),
  );
  // The main process contends too, through the same lock.
  for (let i = 0; i < 2_000; i++) {
    using _held = await counter.getLock().lock();
    counter.value += 1;
  }
  await joinAll(ps);
  assertEquals(counter.value, 10_000);
});

Deno.test("RawValue crosses to a process and back as the same memory", async () => {
  const v = new mp.Value("i", 0, { lock: false });
  await joinAll([start("incrementUnlocked", [v, 1_000])]);
  assertEquals(v.value, 1_000);
});

Deno.test("Array supports index access, negatives, length, iteration and slices", () => {
  const a = new mp.Array("i", [1, 2, 3, 4]);
  assertEquals(a.length, 4);
  assertEquals(a[0], 1);
  assertEquals(a[-1], 4);
  a[1] = 20;
  a[-2] += 10;
  assertEquals(a.get(1), 20);
  a.set(-4, 100);
  assertEquals([...a], [100, 20, 13, 4]);
  assertEquals(a.toArray(), [100, 20, 13, 4]);
  assertEquals(a.slice(1, 3), [20, 13]);
  assertEquals(a.slice(-2), [13, 4]);
  assertEquals(a.slice(3, 1), []);
  assert(0 in a && !(4 in a));
  assertThrows(() => a[4], RangeError, "length 4");
  assertThrows(() => a.set(-5, 0), RangeError);
  assertThrows(() => a.get(1.5), TypeError);
  assertThrows(() => (a[0] = 0.5), TypeError);
  assert(a instanceof mp.Array);
  assert(!(a instanceof Array), "mp.Array is not the global Array");
  assertEquals(Deno.inspect(a), "Array('i', [ 100, 20, 13, 4 ])");
});

Deno.test("Array of zeros, of bigint, of floats and of chars", () => {
  assertEquals(new mp.Array("d", 3).toArray(), [0, 0, 0]);
  assertEquals(new mp.Array("Q", [1n, 2]).toArray(), [1n, 2n]);
  const f = new mp.RawArray("f", [1.5, 0.1]);
  assertEquals(f.toArray(), [1.5, Math.fround(0.1)]);
  const c = new mp.Array("c", "hi!");
  assertEquals(c.length, 3);
  assertEquals(c[0], new Uint8Array([104]));
  c.set(2, "?");
  assertEquals(
    new TextDecoder().decode(Uint8Array.from(c, (b) => b[0])),
    "hi?",
  );
  assertEquals(new mp.RawArray("c", new Uint8Array([1, 2])).length, 2);
  assertEquals(new mp.RawArray("i", 0).length, 0);
  assertThrows(() => new mp.RawArray("i", -1), RangeError);
  // deno-lint-ignore no-explicit-any
  assertThrows(() => new mp.Array("i", null as any), TypeError);
});

Deno.test("Array.getObj() is the same memory; lock: false has no lock", () => {
  const a = new mp.Array("B", [1, 2], { lock: false });
  assertThrows(() => a.getLock(), TypeError);
  const raw = a.getObj();
  assert(raw instanceof mp.RawArray);
  raw[0] = 7;
  assertEquals(a[0], 7);
  assertEquals(a.typecode, "B");
});

Deno.test("Array updated element-wise under its lock by 4 processes", async () => {
  const rounds = 500;
  const arr = new mp.Array("q", 6);
  const ps = Array.from(
    { length: 4 },
    () => start("bumpArray", [arr, rounds]),
  );
  await joinAll(ps);
  assertEquals(
    arr.toArray(),
    [1, 2, 3, 4, 5, 6].map((k) => BigInt(4 * rounds * k)),
  );
});
