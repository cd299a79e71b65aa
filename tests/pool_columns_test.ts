// A map chunk crosses as a column (lib/_common/columns.ts): numbers as the
// bytes of a Float64Array, other primitives as they are. These tests check
// what a user sees of it, under both start methods: every number comes
// back exactly, chunks that mix numbers with other values come back as
// they went, and errors and order are as for any map.
import {
  assert,
  assertEquals,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import { Pool, ProcessError } from "../mod.ts";
import { ChunkResults, packNumbers } from "../lib/_common/columns.ts";
import * as tasks from "./testdata/tasks.ts";
import { eachStartMethod, TASKS } from "./testdata/helpers.ts";

/** Numbers a Float64Array must keep exactly, repeated past one chunk. */
const ODD_NUMBERS = [
  0,
  -0,
  NaN,
  Infinity,
  -Infinity,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  2 ** 31,
  -(2 ** 31) - 1,
  0.1 + 0.2,
  1 / 3,
  -1e-300,
  2 ** -1074,
];

function assertSameNumbers(got: unknown[], want: number[]): void {
  assertEquals(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    assert(
      Object.is(got[i], want[i]),
      `item ${i}: got ${String(got[i])}, want ${String(want[i])}`,
    );
  }
}

eachStartMethod(
  "map: every number comes back exactly (-0, NaN, infinities, subnormals)",
  async ({ startMethod }) => {
    await using p = new Pool(2, { module: TASKS, startMethod });
    const items = Array.from({ length: 20 }, () => ODD_NUMBERS).flat();
    for (const chunksize of [16, 17, 40, undefined]) {
      assertSameNumbers(
        await p.map(tasks.identity, items, chunksize) as unknown[],
        items,
      );
    }
    // Big enough for the automatic chunks to be packed.
    const many = Array.from({ length: 100_000 }, (_, i) => i * 0.5 - 7);
    assertSameNumbers(await p.map(tasks.identity, many) as unknown[], many);
    assertEquals(
      await p.map(tasks.square, many),
      many.map((x) => x * x),
    );
  },
);

eachStartMethod(
  "map: chunks that mix numbers with other values come back as they went",
  async ({ startMethod }) => {
    await using p = new Pool(2, { module: TASKS, startMethod });
    // Items: numbers, then other primitives and objects late in a chunk.
    const items: unknown[] = Array.from({ length: 64 }, (_, i) => i);
    items[31] = "text";
    items[47] = null;
    items[50] = undefined;
    items[55] = 12n;
    items[60] = { n: 60 };
    items[63] = [63];
    assertEquals(await p.map(tasks.identity, items, 32), items);
    // Results: numbers that turn into text part-way through a chunk.
    const nums = Array.from({ length: 200 }, (_, i) => i);
    assertEquals(
      await p.map(tasks.numberOrText, nums, 50),
      nums.map((x) => (x % 7 === 5 ? `#${x}` : x)),
    );
    // A chunk of strings only, and one of booleans.
    const words = Array.from({ length: 40 }, (_, i) => `w${i}`);
    assertEquals(await p.map(tasks.identity, words, 20), words);
    const flags = Array.from({ length: 40 }, (_, i) => i % 3 === 0);
    assertEquals(await p.map(tasks.identity, flags, 20), flags);
  },
);

eachStartMethod(
  "map: an item that throws in the middle of a packed chunk fails the call with its error",
  async ({ startMethod }) => {
    await using p = new Pool(2, { module: TASKS, startMethod });
    const items = Array.from({ length: 100 }, (_, i) => i);
    const err = await assertRejects(
      () => p.map(tasks.failOn37, items, 25),
      ProcessError,
    );
    assertEquals(err.remoteName, "RangeError");
    assertEquals(err.remoteMessage, "bad item 37");
    // The pool goes on, and the next map is whole.
    assertEquals(
      await p.map(tasks.failOn37, items.slice(40), 20),
      items.slice(40),
    );
  },
);

eachStartMethod(
  "imap and imapUnordered over packed chunks yield every number once",
  async ({ startMethod }) => {
    await using p = new Pool(2, { module: TASKS, startMethod });
    const items = Array.from({ length: 500 }, (_, i) => i - 250.25);
    const ordered: unknown[] = [];
    for await (const v of p.imap(tasks.identity, items, 32)) ordered.push(v);
    assertSameNumbers(ordered, items);
    const unordered: number[] = [];
    for await (const v of p.imapUnordered(tasks.square, items, 32)) {
      unordered.push(v as number);
    }
    assertEquals(
      unordered.sort((a, b) => a - b),
      items.map((x) => x * x).sort((a, b) => a - b),
    );
  },
);

Deno.test("columns: packNumbers packs a range of numbers, and nothing else", () => {
  const items: unknown[] = Array.from({ length: 40 }, (_, i) => i / 4);
  const packed = packNumbers(items, 5, 30)!;
  assert(packed.buffer instanceof SharedArrayBuffer);
  assertEquals(packed.buffer.byteLength, 25 * 8);
  assertEquals([...packed], items.slice(5, 30));
  // Short ranges, a text, a hole, a bigint: not packed.
  assertStrictEquals(packNumbers(items, 0, 15), null);
  assertStrictEquals(packNumbers([...items.slice(0, 20), "x"], 0, 21), null);
  const holey: unknown[] = items.slice();
  delete holey[20];
  assertStrictEquals(packNumbers(holey, 0, 40), null);
  assertStrictEquals(packNumbers([1n, ...items], 0, 41), null);
});

Deno.test("columns: ChunkResults keeps numbers packed until the first other value", () => {
  const all = new ChunkResults(20);
  for (let i = 0; i < 20; i++) all.set(i, -i);
  assertEquals([...all.packed!], Array.from({ length: 20 }, (_, i) => -i));
  assertStrictEquals(all.values, null);
  assertStrictEquals(all.packed!.buffer.byteLength, 20 * 8);

  const mixed = new ChunkResults(20);
  for (let i = 0; i < 20; i++) mixed.set(i, i === 12 ? "twelve" : i);
  assertStrictEquals(mixed.packed, null);
  assertEquals(
    mixed.values,
    Array.from({ length: 20 }, (_, i) => (i === 12 ? "twelve" : i)),
  );
  // A short chunk is an array from the start.
  const short = new ChunkResults(3);
  short.set(0, 1);
  short.set(1, 2);
  short.set(2, 3);
  assertStrictEquals(short.packed, null);
  assertEquals(short.values, [1, 2, 3]);
});
