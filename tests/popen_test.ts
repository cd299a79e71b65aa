/**
 * `Popen`: a running child, its streams, signals, waits and disposal.
 * (`run`, `call`, `checkCall`, `checkOutput`: `subprocess_test.ts`.)
 */
import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { delay } from "@std/async/delay";
import { TimeoutExpired, ValueError } from "../lib/errors.ts";
import {
  DEVNULL,
  INHERIT,
  PIPE,
  Popen,
  run,
  STDOUT,
} from "../lib/subprocess.ts";
import {
  lines,
  pattern,
  processExists,
  readText,
  send,
} from "./testdata/child_io.ts";

const MIB = 1024 * 1024;

// --- Popen -----------------------------------------------------------------

Deno.test("Popen streams stdout line by line", async () => {
  await using proc = new Popen(["sh", "-c", "echo first; read x; echo $x"], {
    stdin: PIPE,
    stdout: PIPE,
  });
  assert(proc.pid > 0);
  const writer = proc.stdin!.getWriter();
  const seen: string[] = [];
  for await (const line of lines(proc.stdout!)) {
    seen.push(line);
    // The child waits for us, so "first" really arrived while it ran.
    if (line === "first") {
      assertEquals(proc.returncode, null);
      await send(writer, "second\n");
      await writer.close();
    }
  }
  assertEquals(seen, ["first", "second"]);
  assertEquals(await proc.wait(), 0);
});

Deno.test("Popen stderr STDOUT merges in arrival order", async () => {
  await using proc = new Popen(
    ["sh", "-c", "echo a; read x; echo b >&2; read x; echo c"],
    { stdin: PIPE, stdout: PIPE, stderr: STDOUT },
  );
  assertEquals(proc.stderr, null);
  const writer = proc.stdin!.getWriter();
  const reader = proc.stdout!.getReader();
  assertEquals(await readText(reader), "a\n");
  await send(writer, "\n");
  assertEquals(await readText(reader), "b\n");
  await send(writer, "\n");
  assertEquals(await readText(reader), "c\n");
  assertEquals((await reader.read()).done, true);
  await writer.close();
  assertEquals(await proc.wait(), 0);
});

Deno.test("Popen.communicate() feeds input and returns [stdout, stderr]", async () => {
  await using proc = new Popen(["sh", "-c", "sort; echo done >&2"], {
    stdin: PIPE,
    stdout: PIPE,
    stderr: PIPE,
    text: true,
  });
  const [out, err] = await proc.communicate("b\nc\na\n");
  assertEquals(out, "a\nb\nc\n");
  assertEquals(err, "done\n");
  assertEquals(proc.returncode, 0);
});

Deno.test("Popen.communicate() moves 10 MB each way through cat without deadlock", async () => {
  const input = pattern(10 * MIB, 7);
  await using proc = new Popen(["cat"], { stdin: PIPE, stdout: PIPE });
  const [out, err] = await proc.communicate(input);
  assertEquals(err, null);
  assertEquals(out!.length, input.length);
  assertEquals(out, input);
  assertEquals(proc.returncode, 0);
});

Deno.test("Popen.communicate() fills stdout and stderr with 10 MB each without deadlock", async () => {
  // tee writes every chunk to both pipes: it blocks if either one is not
  // read while we are still writing its stdin.
  const input = pattern(10 * MIB, 3);
  await using proc = new Popen(["sh", "-c", "tee /dev/stderr"], {
    stdin: PIPE,
    stdout: PIPE,
    stderr: PIPE,
  });
  const [out, err] = await proc.communicate(input);
  assertEquals(out, input);
  assertEquals(err, input);
  assertEquals(proc.returncode, 0);
});

Deno.test("Popen.communicate() timeout kills the child and keeps partial output", async () => {
  await using proc = new Popen(["sh", "-c", "echo early; exec sleep 30"], {
    stdout: PIPE,
    text: true,
  });
  const err = await assertRejects(
    () => proc.communicate(undefined, { timeout: 1 }),
    TimeoutExpired,
  );
  assertEquals(err.stdout, "early\n");
  assertEquals(err.stderr, null);
  assertEquals(proc.returncode, -9);
});

Deno.test("Popen.communicate() rejects input without a stdin pipe and a second call", async () => {
  await using proc = new Popen(["true"], { stdout: PIPE });
  await assertRejects(
    () => proc.communicate("x"),
    TypeError,
    "start the process with { stdin: PIPE }",
  );
  assertEquals(await proc.communicate(), [new Uint8Array(), null]);
  await assertRejects(
    () => proc.communicate(),
    ValueError,
    "communicate() was already called",
  );
});

Deno.test("Popen.wait() timeout throws TimeoutExpired and leaves the child running", async () => {
  await using proc = new Popen(["sleep", "30"]);
  const err = await assertRejects(
    () => proc.wait({ timeout: 0.1 }),
    TimeoutExpired,
  );
  assertEquals(err.timeout, 0.1);
  assertEquals(proc.returncode, null);
  assertEquals(await processExists(proc.pid), true);
  proc.kill();
  assertEquals(await proc.wait(), -9);
});

Deno.test("Popen.wait() with a negative timeout does not wait, as in Python", async () => {
  await using proc = new Popen(["sleep", "30"]);
  const t0 = performance.now();
  await assertRejects(() => proc.wait({ timeout: -1 }), TimeoutExpired);
  assert(performance.now() - t0 < 1000);
  assertEquals(proc.returncode, null);
  await assertRejects(
    () => run(["sleep", "30"], { timeout: -1 }),
    TimeoutExpired,
  );
  proc.kill();
  assertEquals(await proc.wait(), -9);
});

Deno.test("Popen.wait() with a timeout of Infinity or beyond 2^31 ms waits", async () => {
  for (const timeout of [Infinity, 3e6]) {
    await using proc = new Popen(["sleep", "30"]);
    const waited = proc.wait({ timeout });
    const early = await Promise.race([
      waited.then(() => "settled", () => "settled"),
      delay(300).then(() => "waiting"),
    ]);
    assertEquals(early, "waiting", `timeout ${timeout}`);
    proc.kill();
    assertEquals(await waited, -9);
  }
});

Deno.test("Popen.poll() is null while running and the code after", async () => {
  await using proc = new Popen(["sleep", "30"]);
  assertEquals(proc.poll(), null);
  await delay(50);
  assertEquals(proc.poll(), null);
  proc.kill();
  await proc.wait();
  assertEquals(proc.poll(), -9);
});

Deno.test("Popen.poll() reports exit code 3 once the child ends", async () => {
  await using proc = new Popen(["sh", "-c", "exit 3"]);
  assertEquals(await proc.wait(), 3);
  assertEquals(proc.poll(), 3);
  assertEquals(proc.returncode, 3);
});

Deno.test("Popen.terminate() gives return code -15", async () => {
  await using proc = new Popen(["sleep", "30"]);
  proc.terminate();
  assertEquals(await proc.wait(), -15);
  assertEquals(proc.returncode, -15);
  // Signalling an ended child does nothing, as in Python.
  proc.terminate();
  proc.kill();
});

Deno.test("Popen.kill() gives return code -9", async () => {
  await using proc = new Popen(["sleep", "30"]);
  proc.kill();
  assertEquals(await proc.wait(), -9);
});

Deno.test("Popen.sendSignal() sends the named signal", async () => {
  await using proc = new Popen(["sleep", "30"]);
  proc.sendSignal("SIGINT");
  assertEquals(await proc.wait(), -2);
});

Deno.test("Popen.sendSignal() rejects a bad signal name", async () => {
  await using proc = new Popen(["sleep", "30"]);
  assertThrows(
    // @ts-expect-error: not a signal name
    () => proc.sendSignal("SIGNOPE"),
    TypeError,
    "Cannot send signal 'SIGNOPE'",
  );
});

Deno.test("Popen throws a clear error for a missing program", () => {
  assertThrows(
    () => new Popen(["nosuchprog"]),
    Deno.errors.NotFound,
    "Cannot run 'nosuchprog': the program was not found; check the name and PATH",
  );
});

Deno.test("Popen exposes only the streams that are PIPE", async () => {
  await using proc = new Popen(["cat"], {
    stdin: PIPE,
    stdout: DEVNULL,
    stderr: INHERIT,
  });
  assert(proc.stdin instanceof WritableStream, "stdin is a WritableStream");
  assertEquals(proc.stdout, null);
  assertEquals(proc.stderr, null);
  assertEquals(proc.args, ["cat"]);
  await proc.stdin!.close();
  assertEquals(await proc.wait(), 0);
});

Deno.test("Popen asyncDispose kills a running child and closes its pipes", async () => {
  let proc: Popen | undefined;
  {
    await using p = new Popen(["sh", "-c", "echo hi; exec sleep 30"], {
      stdin: PIPE,
      stdout: PIPE,
      stderr: PIPE,
    });
    proc = p;
    assertEquals(p.returncode, null);
  }
  assertEquals(proc.returncode, -9);
});

Deno.test("Popen text mode decodes communicate() output", async () => {
  await using proc = new Popen(["printf", "caf\\303\\251"], {
    stdout: PIPE,
    text: true,
  });
  const [out] = await proc.communicate();
  assertEquals(out, "café");
});

Deno.test("Popen rejects a wait() timeout that is not a number", async () => {
  await using proc = new Popen(["true"]);
  await assertRejects(
    // @ts-expect-error: a string is not a timeout
    () => proc.wait({ timeout: "soon" }),
    TypeError,
    "Cannot wait for the process: 'timeout' must be a number of seconds",
  );
  assertEquals(await proc.wait(), 0);
});
