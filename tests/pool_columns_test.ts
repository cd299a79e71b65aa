// A map chunk crosses as a column (lib/_common/columns.ts): numbers as the
// bytes of a Float64Array, other primitives as they are; and a batch of
// like tasks crosses as columns (lib/_launch/batch_columns.ts). These
// tests check what a user sees of it, under both start methods: every
// number comes back exactly, chunks that mix numbers with other values
// come back as they went, every task of a batch gets its own arguments
// and outcome, and errors and order are as for any map.
import {
  assert,
  assertEquals,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import { Pool, ProcessError } from "../mod.ts";
import { ChunkResults, packNumbers } from "../lib/_common/columns.ts";
import {
  fromDoneColumns,
  fromRunColumns,
  toDoneColumns,
  toRunColumns,
} from "../lib/_launch/batch_columns.ts";
import type { WireResult, WireTask } from "../lib/_launch/protocol.ts";
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

eachStartMethod(
  "tasks in flight together get their own arguments and outcomes",
  async ({ startMethod }) => {
    await using p = new Pool(2, { module: TASKS, startMethod });
    // Short tasks travel in batches: 0, 1 and 3 arguments, with and without
    // kwargs, and values of several kinds, all at once.
    const calls: Array<[unknown[], Record<string, unknown> | undefined]> = [];
    for (let i = 0; i < 600; i++) {
      const args = i % 3 === 0
        ? []
        : i % 3 === 1
        ? [i]
        : [i, `s${i}`, i % 2 === 0 ? null : { n: i }];
      calls.push([args, i % 7 === 0 ? { k: i } : undefined]);
    }
    const got = await Promise.all(
      calls.map(([args, kw]) =>
        kw === undefined
          ? p.applyAsync(tasks.argsOf, args).get()
          : p.applyAsync(tasks.argsOf, args, kw).get()
      ),
    );
    for (let i = 0; i < calls.length; i++) {
      const [args, kw] = calls[i];
      const all = kw === undefined ? args : [...args, kw];
      assertEquals(got[i], [all.length, ...all], `task ${i}`);
    }
    // Some tasks of a batch throw: each rejects alone, the others resolve.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) => p.apply(tasks.failOdd, [i])),
    );
    outcomes.forEach((o, i) => {
      if (i % 2 === 0) {
        assertEquals(o, { status: "fulfilled", value: i * 2 });
      } else {
        if (o.status !== "rejected") throw new Error(`task ${i} did not fail`);
        assertEquals((o.reason as ProcessError).remoteMessage, `odd ${i}`);
      }
    });
    // Chunks of several items, and of one, in flight together.
    const items = Array.from(
      { length: 300 },
      (_, i) => i % 5 === 0 ? `t${i}` : i,
    );
    const [a, b] = await Promise.all([
      p.map(tasks.identity, items, 3),
      p.map(tasks.identity, items, 1),
    ]);
    assertEquals(a, items);
    assertEquals(b, items);
  },
);

function task(
  id: number,
  args: WireTask["args"],
  extra: Partial<WireTask> = {},
): WireTask {
  return { id, fn: 7, mode: 1 as const, args, shared: false, ...extra };
}

Deno.test("batch columns: like tasks round-trip as columns; others cross as objects", () => {
  const ref = { name: "f", source: "x => x" } as WireTask["ref"];
  const ones = [task(1, [10], { ref }), task(2, ["b"]), task(3, [null])];
  const m1 = toRunColumns(ones)!;
  assertEquals(m1.counts, null);
  assertEquals(m1.args, [10, "b", null]);
  assertEquals(fromRunColumns(m1), ones);
  const varied = [task(4, []), task(5, [1, 2, 3]), task(6, [{ a: 1 }])];
  const m2 = toRunColumns(varied)!;
  assertEquals(m2.counts, [0, 3, 1]);
  assertEquals(fromRunColumns(m2), varied);
  // Alone, mixed functions or modes, kwargs, primitives, packed numbers,
  // or a ref past the first: objects.
  assertStrictEquals(toRunColumns([task(1, [1])]), null);
  assertStrictEquals(
    toRunColumns([task(1, [1]), task(2, [1], { fn: 8 })]),
    null,
  );
  assertStrictEquals(
    toRunColumns([task(1, [1]), task(2, [1], { mode: 0 })]),
    null,
  );
  assertStrictEquals(
    toRunColumns([task(1, [1]), task(2, [1], { kwargs: {} })]),
    null,
  );
  assertStrictEquals(
    toRunColumns([task(1, [1]), task(2, [1], { shared: true })]),
    null,
  );
  assertStrictEquals(
    toRunColumns([task(1, [1]), task(2, new SharedArrayBuffer(8))]),
    null,
  );
  assertStrictEquals(toRunColumns([task(1, [1]), task(2, [1], { ref })]), null);
});

Deno.test("batch columns: results that all succeeded round-trip as columns", () => {
  const values: WireResult[] = [
    { id: 1, ok: true, value: { a: 1 } },
    { id: 2, ok: true, value: [1, 2] },
    { id: 3, ok: true, value: undefined },
  ];
  const m1 = toDoneColumns(values)!;
  assertEquals(m1.spread, false);
  assertEquals(fromDoneColumns(m1), values);
  const chunks: WireResult[] = [
    { id: 4, ok: true, value: [1], chunk: true },
    { id: 5, ok: true, value: ["x", "y"], chunk: true },
    { id: 6, ok: true, value: [], chunk: true },
  ];
  const m2 = toDoneColumns(chunks)!;
  assertEquals(m2.spread, true);
  assertEquals(m2.counts, [1, 2, 0]);
  assertEquals(fromDoneColumns(m2), chunks);
  // An error, markers, packed numbers, or chunks mixed with values: objects.
  const error: WireResult = {
    id: 9,
    ok: false,
    error: { name: "Error", message: "no", stack: "" },
  };
  assertStrictEquals(toDoneColumns([values[0], error]), null);
  assertStrictEquals(
    toDoneColumns([values[0], { id: 9, ok: true, value: {}, shared: true }]),
    null,
  );
  assertStrictEquals(
    toDoneColumns([
      chunks[0],
      { id: 9, ok: true, value: new ArrayBuffer(8), packed: true },
    ]),
    null,
  );
  assertStrictEquals(toDoneColumns([values[0], chunks[0]]), null);
  assertStrictEquals(toDoneColumns([values[0]]), null);
});
