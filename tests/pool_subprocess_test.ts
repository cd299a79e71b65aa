// The Pool tests with the "subprocess" start method (each worker a `deno`
// child), then what only that method has: sandboxed tasks and the refusal
// of shared-memory primitives.
import {
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { Pool, ProcessError } from "../mod.ts";
import * as tasks from "./testdata/tasks.ts";
import { poolSuite } from "./testdata/pool_suite.ts";

poolSuite("subprocess");

const TASKS = new URL("./testdata/tasks.ts", import.meta.url);

Deno.test("Pool [subprocess] runs untrusted tasks sandboxed; a denied access is the task's error", async () => {
  const secret = Deno.makeTempFileSync({ prefix: "mp-subprocess-test-" });
  Deno.writeTextFileSync(secret, "s3cret");
  await using p = new Pool(1, {
    module: TASKS,
    startMethod: "subprocess",
    permissions: "none",
  });
  const err = await assertRejects(
    () => p.apply(tasks.writeFile, [secret, "overwritten"]),
    ProcessError,
  );
  assertEquals(err.remoteName, "NotCapable");
  assertStringIncludes(err.remoteMessage, "write access");
  assertEquals(Deno.readTextFileSync(secret), "s3cret");
  // The pool goes on, on the same worker.
  assertEquals(await p.apply(tasks.square, [7]), 49);
  assertEquals(p.stats().workers, 1);
  Deno.removeSync(secret);
});

Deno.test("Pool permissions need the subprocess method", () => {
  assertThrows(
    () => new Pool(1, { permissions: { read: true } }),
    TypeError,
    'needs startMethod "subprocess"',
  );
});

Deno.test("Pool [subprocess] rejects a task given bare shared memory", async () => {
  await using p = new Pool(1, { module: TASKS, startMethod: "subprocess" });
  const err = await assertRejects(
    () => p.apply(tasks.identity, [new Int32Array(new SharedArrayBuffer(8))]),
    TypeError,
    "a SharedArrayBuffer cannot reach",
  );
  assertInstanceOf(err, TypeError);
  assertStringIncludes(err.message, "Manager()");
  assertEquals(await p.apply(tasks.square, [3]), 9);
});
