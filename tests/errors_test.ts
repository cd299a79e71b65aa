// The error classes keep their names, default messages and `instanceof`
// chains (one base, MultiprocessingError; SubprocessError under the two
// subprocess errors, as in Python).
import { assert, assertEquals } from "@std/assert";
import * as mp from "../mod.ts";

Deno.test("Every error class is named after itself and is a MultiprocessingError", () => {
  const made: Error[] = [
    new mp.Empty(),
    new mp.Full(),
    new mp.TimeoutError(),
    new mp.ProcessError({ name: "TypeError", message: "bad" }, "square"),
    new mp.WorkerLostError("lost", 3),
    new mp.PoolTerminatedError(),
    new mp.BrokenBarrierError(),
    new mp.CalledProcessError(2, ["ls"]),
    new mp.TimeoutExpired(["sleep", "5"], 0.1),
    new mp.AuthenticationError(),
    new mp.EOFError(),
    new mp.BrokenPipeError(),
    new mp.ValueError("v"),
  ];
  for (const err of made) {
    assert(err instanceof Error);
    assert(err instanceof mp.MultiprocessingError, err.name);
    assertEquals(err.name, err.constructor.name);
    assertEquals(Object.hasOwn(err, "name"), true, err.name);
    assert(err.stack!.startsWith(`${err.name}: ${err.message}`), err.stack);
  }
});

Deno.test("Error classes made without a message have their default one", () => {
  const defaults = {
    Empty: "Cannot get an item: the queue is empty",
    Full: "Cannot put an item: the queue is full",
    TimeoutError: "Timed out",
    PoolTerminatedError: "Cannot finish the task: the pool was terminated",
    BrokenBarrierError:
      "Cannot pass the barrier: it is broken; call reset() to use it again",
    AuthenticationError:
      "Cannot connect to the manager: the authkey does not match",
    EOFError:
      "Cannot receive: the other end is closed and nothing is left to read",
    BrokenPipeError:
      "Cannot send: no process holds the other end of the pipe any more",
  };
  for (const [name, message] of Object.entries(defaults)) {
    const err = new mp[name as keyof typeof defaults]();
    assertEquals([err.name, err.message], [name, message]);
  }
  const withCause = new mp.Empty("empty now", { cause: 7 });
  assertEquals([withCause.message, withCause.cause], ["empty now", 7]);
});

Deno.test("CalledProcessError and TimeoutExpired are SubprocessErrors with the command and its output", () => {
  const called = new mp.CalledProcessError(2, ["ls", "/nope"], "out", "err");
  assert(called instanceof mp.SubprocessError);
  assertEquals(
    called.message,
    "Command 'ls /nope' returned non-zero exit status 2",
  );
  assertEquals(
    [called.returncode, called.cmd, called.stdout, called.stderr],
    [2, ["ls", "/nope"], "out", "err"],
  );
  assertEquals(called.output, "out");
  const expired = new mp.TimeoutExpired(["sleep", "5"], 0.1);
  assert(expired instanceof mp.SubprocessError);
  assertEquals(
    expired.message,
    "Command 'sleep 5' timed out after 0.1 seconds",
  );
  assertEquals([expired.timeout, expired.stdout, expired.stderr], [
    0.1,
    null,
    null,
  ]);
});
