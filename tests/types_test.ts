// The argument lists of Pool and Process calls are typed from the
// function's parameters. `deno task check` type-checks this file: each
// `@ts-expect-error` fails the check if the wrong call below it ever
// type-checks again. The tests run the right calls.
import { assertEquals } from "@std/assert";
import { Pool, Process } from "../mod.ts";
import { add, square, withKwargs } from "./testdata/tasks.ts";

/** Wrong calls, never run: only the type checker reads them. */
export function wrongCalls(pool: Pool): void {
  // @ts-expect-error "two" is not a number
  pool.apply(add, [1, "two"]);
  // @ts-expect-error an array of the wrong element type
  pool.apply(square, ["1"] as string[]);
  // @ts-expect-error "x" is not a number
  pool.applyAsync(add, [1, "x"]);
  // @ts-expect-error kwargs of the wrong shape
  pool.apply(withKwargs, [1], { times: "3" });
  // @ts-expect-error positional argument of the wrong type next to kwargs
  pool.applyAsync(withKwargs, ["1"], { times: 3 });
  // @ts-expect-error items of the wrong type
  pool.map(square, ["a"]);
  // @ts-expect-error argument lists of the wrong type
  pool.starmap(add, [[1, "b"]]);
  // @ts-expect-error items of the wrong type
  pool.imap(square, ["a"]);
  // @ts-expect-error items of the wrong type
  pool.imapUnordered(square, [true]);
  // @ts-expect-error the result is a number, not a string
  const s: Promise<string> = pool.apply(add, [1, 2]);
  void s;
  // @ts-expect-error "two" is not a number
  new Process({ target: add, args: [1, "two"] });
  // @ts-expect-error kwargs of the wrong shape
  new Process({ target: withKwargs, args: [1], kwargs: { times: "x" } });
}

Deno.test("Pool.apply() and applyAsync() take arguments typed from the function", async () => {
  await using pool = new Pool(1);
  const sum: number = await pool.apply(add, [1, 2]);
  assertEquals(sum, 3);
  const scaled: number = await pool.applyAsync(withKwargs, [2], { times: 4 });
  assertEquals(scaled, 8);
  // A plain array (not a tuple literal) is checked by its element type.
  const pair = [20, 22];
  assertEquals(await pool.apply(add, pair), 42);
  // An inline function's parameters take their types from `args`.
  assertEquals(await pool.apply((a, b) => a * b, [6, 7]), 42);
  // By reference the arguments are not checked: the module is not loaded.
  const ref = {
    module: new URL("./testdata/tasks.ts", import.meta.url),
    name: "square",
  };
  assertEquals(await pool.apply<number>(ref, [5]), 25);
});

Deno.test("Process takes args and kwargs typed from its target", async () => {
  const p = new Process({
    target: withKwargs,
    args: [2],
    kwargs: { times: 3 },
  });
  p.start();
  await p.join();
  assertEquals(p.exitCode, 0);
});
