// The pool's function cache (lib/_pool/functions.ts): an inline arrow
// written at the call site is a fresh object per call; the pool must ship
// it once, not once per call, and remember a bounded number of functions.
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { Pool, type PoolOptions, ProcessError } from "../mod.ts";
import { ENGINE, type Engine, type TaskSpec } from "../lib/_pool/interface.ts";
import { FUNCTION_CACHE_SIZE, FunctionCache } from "../lib/_pool/functions.ts";

/** An engine that runs nothing and records what the pool submitted. */
class RecordingEngine implements Engine {
  specs: TaskSpec[] = [];
  broken = null;
  submit(spec: TaskSpec): Promise<unknown> {
    this.specs.push(spec);
    return Promise.resolve(spec.args[0]);
  }
  stats() {
    return {
      queued: 0,
      running: 0,
      done: 0,
      failed: 0,
      workers: 1,
      stopping: 0,
    };
  }
  close(): void {}
  terminate(): void {}
  join(): Promise<void> {
    return Promise.resolve();
  }
}

Deno.test("Pool gives 10,000 fresh inline arrows of one source one function key", async () => {
  const engine = new RecordingEngine();
  const pool = new Pool({ processes: 1, [ENGINE]: engine } as PoolOptions);
  for (let i = 0; i < 10_000; i++) {
    // A new function object every iteration, the same source.
    assertEquals(await pool.apply((x: number) => x + 1, [i]), i);
  }
  assertEquals(engine.specs.length, 10_000);
  const keys = new Set(engine.specs.map((s) => s.fnKey));
  assertEquals(keys.size, 1, "one function, one key: shipped once");
  pool.terminate();
  await pool.join();
});

Deno.test("Pool keeps apart functions of one source but different names", async () => {
  const engine = new RecordingEngine();
  const pool = new Pool({ processes: 1, [ENGINE]: engine } as PoolOptions);
  const a = (x: number) => x;
  const b = (x: number) => x;
  await pool.apply(a, [1]);
  await pool.apply(b, [1]);
  await pool.apply(a, [1]);
  assertEquals(engine.specs.map((s) => s.label), ["a", "b", "a"]);
  assertEquals(engine.specs[0].fnKey, engine.specs[2].fnKey);
  assert(engine.specs[0].fnKey !== engine.specs[1].fnKey);
  pool.terminate();
  await pool.join();
});

Deno.test("FunctionCache remembers at most FUNCTION_CACHE_SIZE functions", () => {
  const cache = new FunctionCache(undefined);
  const first = cache.get(new Function("x", "return x + 0"));
  for (let i = 0; i < 3 * FUNCTION_CACHE_SIZE; i++) {
    cache.get(new Function("x", `return x + ${i}`));
    assert(cache.size <= FUNCTION_CACHE_SIZE, `size ${cache.size}`);
  }
  assertEquals(cache.size, FUNCTION_CACHE_SIZE);
  // A function seen again after it was dropped gets a new key, never an
  // old one (a worker may still hold the old key's function).
  const again = cache.get(new Function("x", "return x + 0"));
  assert(again.key > first.key);
  // The most recently used stays in.
  const keep = cache.get(new Function("x", "return x + 1"));
  for (let i = 0; i < FUNCTION_CACHE_SIZE - 1; i++) {
    cache.get(new Function("x", `return x * ${i}`));
    cache.get(new Function("x", "return x + 1"));
  }
  assertEquals(cache.get(new Function("x", "return x + 1")).key, keep.key);
});

Deno.test("Pool runs many fresh inline arrows on real workers", async () => {
  await using pool = new Pool(2);
  const results = await Promise.all(
    Array.from(
      { length: 2000 },
      (_, i) => pool.apply((x: number) => x * 2, [i]),
    ),
  );
  assertEquals(results, Array.from({ length: 2000 }, (_, i) => i * 2));
  // Same source, another name: the error names the function it came from.
  const boom = (x: number) => {
    throw new Error(`bad ${x}`);
  };
  const err = await pool.apply(boom, [3]).catch((e) => e);
  assert(err instanceof ProcessError);
  assertStringIncludes(err.message, "boom");
});

Deno.test("Pool gives { module, name } references one key per module and name", async () => {
  const engine = new RecordingEngine();
  const pool = new Pool({ processes: 1, [ENGINE]: engine } as PoolOptions);
  const module = new URL("./testdata/tasks.ts", import.meta.url);
  for (let i = 0; i < 100; i++) {
    await pool.apply({ module, name: "square" }, [i]);
    await pool.apply({ module: module.href, name: "add" }, [i, 1]);
  }
  const keys = new Set(engine.specs.map((s) => s.fnKey));
  assertEquals(keys.size, 2);
  assertEquals(engine.specs[0].fn.name, "square");
  assertEquals(engine.specs[0].fn.byName, true);
  assertEquals(engine.specs[1].label, "add");
  // Not a function nor a reference: the error says what was expected.
  await assertRejects(
    () => pool.apply(42 as unknown as () => void),
    TypeError,
    "expected a function or { module, name }",
  );
  pool.terminate();
  await pool.join();
});
