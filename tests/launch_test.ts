// Starting a pool worker: it loads only what its first task needs
// (lib/_launch/run_pool.ts loads the registry of shareable primitives
// when a task's arguments hold one), and primitives still arrive working,
// in the first task as in later ones, and in an initializer's arguments.
import { assertEquals } from "@std/assert";
import { Pool, type StartMethod, Value } from "../mod.ts";
import * as tasks from "./testdata/launch_tasks.ts";

const TASKS = new URL("./testdata/launch_tasks.ts", import.meta.url);
const METHODS: StartMethod[] = ["worker", "subprocess"];

for (const method of METHODS) {
  Deno.test(`a fresh pool worker's first task gets working primitives [${method}]`, async () => {
    const v = new Value("i", 0);
    await using pool = new Pool(1, { module: TASKS, startMethod: method });
    assertEquals(await pool.apply(tasks.addTo, [v, 5]), 5);
    assertEquals(await pool.apply(tasks.addTo, [v, 2]), 7);
    assertEquals(v.value, 7);
  });

  Deno.test(`a pool worker that ran plain tasks first then gets primitives [${method}]`, async () => {
    const v = new Value("i", 10);
    await using pool = new Pool(1, { module: TASKS, startMethod: method });
    assertEquals(await pool.map(tasks.echo, [1, 2, 3]), [1, 2, 3]);
    assertEquals(await pool.apply(tasks.addTo, [v, 1]), 11);
    assertEquals(v.value, 11);
  });

  Deno.test(`an initializer's primitive arguments arrive working [${method}]`, async () => {
    const v = new Value("i", 0);
    await using pool = new Pool(1, {
      module: TASKS,
      startMethod: method,
      initializer: tasks.keep,
      initargs: [v],
    });
    assertEquals(await pool.apply(tasks.addToKept, [3]), 3);
    assertEquals(v.value, 3);
  });
}
