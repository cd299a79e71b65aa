// Pool's checks of its arguments and options, under both start methods:
// a bad value is refused at the call with a TypeError or RangeError that
// names it.
import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { Pool } from "../mod.ts";
import * as tasks from "./testdata/tasks.ts";
import { eachStartMethod as test } from "./testdata/helpers.ts";

test("Pool validates its arguments", async ({ startMethod }) => {
  assertThrows(() => new Pool(0), RangeError, "positive integer");
  assertThrows(() => new Pool(1.5), RangeError, "positive integer");
  assertThrows(
    () => new Pool(1, { maxtasksperchild: 0 }),
    RangeError,
    "maxtasksperchild",
  );
  await using p = new Pool({ processes: 1, startMethod });
  assertEquals(p.processes, 1);
  await assertRejects(
    () => p.map(tasks.square, [1], 0),
    RangeError,
    "chunksize",
  );
  await assertRejects(
    () => p.map(tasks.square, 5 as unknown as number[]),
    TypeError,
    "expected an iterable",
  );
  await assertRejects(
    () => p.apply(tasks.square, [1], undefined, { timeout: -1 }),
    RangeError,
    "timeout",
  );
  await assertRejects(
    () =>
      p.apply(tasks.square, [1], undefined, {
        timeout: "1" as unknown as number,
      }),
    TypeError,
    `got the string "1"`,
  );
  await assertRejects(
    () => p.applyAsync(tasks.square, [1]).get("1" as unknown as number),
    TypeError,
    `got the string "1"`,
  );
  // Python has no upper bound, but a billion workers is a typo: stats()
  // reported them all.
  assertThrows(() => new Pool(1e9), RangeError, "'processes'");
  assertThrows(
    () => new Pool("2" as unknown as number),
    TypeError,
    `'processes' must be an integer, got the string "2"`,
  );
  for (const bad of [-1, 0, NaN, Infinity]) {
    assertThrows(
      () =>
        new Pool(1, {
          startMethod,
          resourceLimits: { maxOldGenerationSizeMb: bad },
        }),
      RangeError,
      "'maxOldGenerationSizeMb'",
    );
  }
  assertThrows(
    () =>
      new Pool(1, {
        startMethod,
        resourceLimits: { stackSizeMb: "4" as unknown as number },
      }),
    TypeError,
    `'stackSizeMb' must be a number of MiB, got the string "4"`,
  );
  assertThrows(
    () =>
      new Pool(1, {
        startMethod,
        resourceLimits: { maxOldGenerationSizeMB: 64 } as never,
      }),
    TypeError,
    "unknown resource limit 'maxOldGenerationSizeMB'",
  );
});

Deno.test("Pool permissions need the subprocess method", () => {
  assertThrows(
    () => new Pool(1, { permissions: { read: true } }),
    TypeError,
    'needs startMethod "subprocess"',
  );
});
