// Unit tests of the item codec under queues and pipes (lib/_shm/codec.ts):
// every kind of value the fast format has a case for, and the node:v8
// fallback, decodes to what structuredClone gives.
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertNotStrictEquals,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import {
  decodeItem,
  encodeBytes,
  encodeItem,
  FORMAT_BYTES,
  FORMAT_FAST,
  FORMAT_V8,
} from "../lib/_shm/codec.ts";

/** Encodes, checks the format chosen, decodes from a private copy. */
function roundTrip(value: unknown, format: number): unknown {
  const payload = encodeItem(value);
  assertEquals(payload[0], format, `format of ${Deno.inspect(value)}`);
  const copy = payload.slice();
  const out = decodeItem(copy);
  // The result shares no memory with the payload.
  copy.fill(0xff);
  return out;
}

function assertSame(value: unknown, format: number): void {
  const out = roundTrip(value, format);
  assertEquals(out, structuredClone(value));
}

Deno.test("codec: primitives take the fast format and come back equal", () => {
  const values = [
    undefined,
    null,
    true,
    false,
    0,
    1,
    -1,
    2 ** 31 - 1,
    -(2 ** 31),
    2 ** 31, // just past int32: a float64
    0.5,
    -1e-300,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    Infinity,
    -Infinity,
    "",
    "a",
    "plain ascii text",
    "héllo wörld",
    "emoji 😀 and 中文",
    0n,
    1n,
    -1n,
    2n ** 200n,
    -(2n ** 200n) + 7n,
  ];
  for (const v of values) {
    const out = roundTrip(v, FORMAT_FAST);
    assert(Object.is(out, v), `${Deno.inspect(v)} came back as ${out}`);
  }
});

Deno.test("codec: -0 and NaN keep their identity", () => {
  assert(Object.is(roundTrip(-0, FORMAT_FAST), -0));
  assert(Object.is(roundTrip(NaN, FORMAT_FAST), NaN));
  const arr = roundTrip([-0, NaN, 0], FORMAT_FAST) as number[];
  assert(Object.is(arr[0], -0));
  assert(Number.isNaN(arr[1]));
  assert(Object.is(arr[2], 0));
});

Deno.test("codec: strings of every length and alphabet", () => {
  for (const n of [1, 15, 16, 17, 63, 64, 65, 4095, 4096, 100_000]) {
    for (const unit of ["x", "é", "中", "😀"]) {
      const s = unit.repeat(n);
      assertStrictEquals(roundTrip(s, FORMAT_FAST), s);
    }
  }
  // Mixed: ASCII that turns non-ASCII at the end of a short string.
  assertStrictEquals(roundTrip("abcdé", FORMAT_FAST), "abcdé");
});

Deno.test("codec: a lone surrogate survives, in a value and in a key", () => {
  // It has no UTF-8 form: the fast format would turn it into U+FFFD.
  for (const s of ["a\ud800b", "\udfff", "x".repeat(100) + "\ud83d"]) {
    assertStrictEquals(roundTrip(s, FORMAT_V8), s);
    assertEquals(roundTrip({ [s]: s }, FORMAT_V8), { [s]: s });
  }
});

Deno.test("codec: a big string (16 MiB) round-trips", () => {
  const s = "0123456789abcdef".repeat(1 << 20);
  assertStrictEquals(roundTrip(s, FORMAT_FAST), s);
});

Deno.test("codec: arrays, plain objects, dates and bytes take the fast format", () => {
  assertSame([], FORMAT_FAST);
  assertSame({}, FORMAT_FAST);
  assertSame([1, "two", null, undefined, true, 3.5, 4n], FORMAT_FAST);
  assertSame({ a: 1, b: "x", c: [1, 2], d: { e: null } }, FORMAT_FAST);
  assertSame(new Date(0), FORMAT_FAST);
  assertSame(new Date(8.64e15), FORMAT_FAST);
  assertSame(new Uint8Array(), FORMAT_FAST);
  assertSame(new Uint8Array([0, 1, 254, 255]), FORMAT_FAST);
  const invalid = roundTrip(new Date(NaN), FORMAT_FAST) as Date;
  assertInstanceOf(invalid, Date);
  assert(Number.isNaN(invalid.getTime()));
});

Deno.test("codec: key order, numeric keys and a '__proto__' key are kept", () => {
  const obj = { z: 1, a: 2, 10: "ten", 2: "two" };
  const out = roundTrip(obj, FORMAT_FAST) as Record<string, unknown>;
  assertEquals(Object.keys(out), Object.keys(structuredClone(obj)));
  const tricky = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}');
  const back = roundTrip(tricky, FORMAT_FAST) as Record<string, unknown>;
  assertStrictEquals(Object.getPrototypeOf(back), Object.prototype);
  assertEquals(Object.keys(back), ["__proto__", "x"]);
  assertEquals(Object.getOwnPropertyDescriptor(back, "__proto__")?.value, {
    polluted: true,
  });
  assertStrictEquals((back as { polluted?: boolean }).polluted, undefined);
});

Deno.test("codec: a null-prototype object comes back as structuredClone's", () => {
  const obj = Object.assign(Object.create(null), { a: 1 });
  const out = roundTrip(obj, FORMAT_FAST);
  assertStrictEquals(Object.getPrototypeOf(out), Object.prototype);
  assertEquals(out, structuredClone(obj));
});

Deno.test("codec: nesting up to the fast format's depth, and past it", () => {
  let shallow: unknown = "leaf";
  for (let i = 0; i < 60; i++) shallow = i % 2 ? [shallow] : { k: shallow };
  assertSame(shallow, FORMAT_FAST);
  let deep: unknown = "leaf";
  for (let i = 0; i < 200; i++) deep = i % 2 ? [deep] : { k: deep };
  assertSame(deep, FORMAT_V8);
});

Deno.test("codec: bytes come back as their own exact buffer", () => {
  const src = new Uint8Array(10_000).map((_, i) => i);
  const out = roundTrip(src, FORMAT_FAST) as Uint8Array;
  assertEquals(out, src);
  assertNotStrictEquals(out.buffer, src.buffer);
  assertEquals(out.byteOffset, 0);
  assertEquals(out.buffer.byteLength, 10_000);
});

Deno.test("codec: other types fall back to node:v8 and keep their types", () => {
  const values: unknown[] = [
    new Map<unknown, unknown>([["a", 1], [2, { b: [3] }]]),
    new Set([1, "x", 3n]),
    new Int32Array([1, -2, 3]),
    new Float64Array([0.5, NaN, -0]),
    new BigInt64Array([1n, -1n]),
    new Uint16Array(0),
    new Uint8ClampedArray([0, 255]),
    new ArrayBuffer(7),
    new DataView(new ArrayBuffer(4)),
    /ab+c/gi,
    new Boolean(false),
    new String("boxed"),
    new Number(4),
    Object(5n),
    [1, , 3], // a hole
    { outer: new Map([["inner", new Set([1])]]) },
  ];
  for (const v of values) assertSame(v, FORMAT_V8);
  const err = roundTrip(new RangeError("bad"), FORMAT_V8) as Error;
  assertInstanceOf(err, RangeError);
  assertEquals(err.message, "bad");
});

Deno.test("codec: a sparse array keeps its holes", () => {
  // deno-lint-ignore no-sparse-arrays
  const out = roundTrip([1, , 3], FORMAT_V8) as unknown[];
  assertEquals(out.length, 3);
  assert(!(1 in out));
});

Deno.test("codec: part of a buffer clones with its whole buffer, as structuredClone", () => {
  const whole = new Uint8Array([1, 2, 3, 4, 5, 6]);
  const part = whole.subarray(2, 4);
  const out = roundTrip(part, FORMAT_V8) as Uint8Array;
  const expected = structuredClone(part);
  assertEquals(out, expected);
  assertEquals(out.byteOffset, expected.byteOffset);
  assertEquals(out.buffer.byteLength, expected.buffer.byteLength);
});

Deno.test("codec: shared and cyclic references survive (through v8)", () => {
  const shared = { n: 1 };
  const out = roundTrip([shared, shared], FORMAT_V8) as object[];
  assertStrictEquals(out[0], out[1]);
  const cyclic: Record<string, unknown> = { name: "loop" };
  cyclic.self = cyclic;
  const back = roundTrip(cyclic, FORMAT_V8) as Record<string, unknown>;
  assertStrictEquals(back.self, back);
  assertEquals(back.name, "loop");
});

Deno.test("codec: a value that cannot be cloned throws DataCloneError", () => {
  for (const bad of [() => 1, Symbol("s"), { f() {} }, [1, Symbol.iterator]]) {
    const e = assertThrows(() => encodeItem(bad));
    assertInstanceOf(e, DOMException);
    assertEquals(e.name, "DataCloneError");
    assert(e.message.startsWith("Cannot send the item"), e.message);
  }
});

Deno.test("codec: encodeBytes carries raw bytes, empty ones too", () => {
  for (const n of [0, 1, 5000]) {
    const src = new Uint8Array(n).map((_, i) => i * 7);
    const payload = encodeBytes(src);
    assertEquals(payload[0], FORMAT_BYTES);
    const out = decodeItem(payload.slice()) as Uint8Array;
    assertEquals(out, src);
    assertEquals(out.buffer.byteLength, n);
  }
});

Deno.test("codec: the shared writer grows and is reused between items", () => {
  const big = { data: "x".repeat(50_000), n: [1, 2, 3] };
  const a = encodeItem(big).slice();
  const b = encodeItem("small").slice();
  assertEquals(decodeItem(a), big);
  assertStrictEquals(decodeItem(b), "small");
  // A v8 item after a fast one: nothing of the earlier item leaks in.
  const c = encodeItem(new Map([[1, 2]])).slice();
  assertEquals(decodeItem(c), new Map([[1, 2]]));
});

Deno.test("codec: an unknown format or tag is a clear TypeError", () => {
  assertThrows(
    () => decodeItem(new Uint8Array([9])),
    TypeError,
    "unknown format '9'",
  );
  assertThrows(
    () => decodeItem(new Uint8Array([FORMAT_FAST, 200])),
    TypeError,
    "unknown tag '200'",
  );
});
