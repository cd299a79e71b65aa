/**
 * `run`, `call`, `checkCall`, `checkOutput` and `CompletedProcess` (the
 * running child, `Popen`: `popen_test.ts`).
 */
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { CalledProcessError, TimeoutExpired } from "../lib/errors.ts";
import {
  call,
  checkCall,
  checkOutput,
  type CommandLine,
  CompletedProcess,
  DEVNULL,
  PIPE,
  run,
  type RunOptions,
  STDOUT,
} from "../lib/subprocess.ts";
import { pattern, processExists } from "./testdata/child_io.ts";

const decoder = new TextDecoder();
const MIB = 1024 * 1024;

/** `run`, capturing stdout and stderr as text. */
const runText = (cmd: CommandLine, options: RunOptions<true> = {}) =>
  run(cmd, { capture: true, text: true, ...options });

/** Runs `cmd` with a timeout it must pass; the rejection. */
const timesOut = (cmd: CommandLine, timeout: number) =>
  assertRejects(() => runText(cmd, { timeout }), TimeoutExpired);

// --- run -------------------------------------------------------------------

Deno.test("run() captures stdout as text", async () => {
  const done = await run(["echo", "hello"], { capture: true, text: true });
  assertInstanceOf(done, CompletedProcess);
  assertEquals(done.args, ["echo", "hello"]);
  assertEquals(done.returncode, 0);
  assertEquals(done.stdout, "hello\n");
  assertEquals(done.stderr, "");
});

Deno.test("run() captures stdout and stderr as bytes by default", async () => {
  const done = await run(["sh", "-c", "printf out; printf err >&2"], {
    capture: true,
  });
  assertInstanceOf(done.stdout, Uint8Array);
  assertInstanceOf(done.stderr, Uint8Array);
  assertEquals(decoder.decode(done.stdout!), "out");
  assertEquals(decoder.decode(done.stderr!), "err");
});

Deno.test("run() leaves stdout and stderr null when not captured", async () => {
  const done = await run(["true"]);
  assertEquals(done.returncode, 0);
  assertEquals(done.stdout, null);
  assertEquals(done.stderr, null);
});

Deno.test("run() feeds string input to stdin", async () => {
  const done = await runText(["sort"], {
    input: "pear\napple\nfig\n",
  });
  assertEquals(done.stdout, "apple\nfig\npear\n");
});

Deno.test("run() feeds Uint8Array input to stdin", async () => {
  const input = new Uint8Array([0, 1, 2, 255, 10]);
  const done = await run(["cat"], { input, stdout: PIPE });
  assertEquals(done.stdout, input);
});

Deno.test("run() ignores input the child does not read", async () => {
  const done = await run(["sh", "-c", "exit 0"], {
    input: pattern(4 * MIB, 1),
  });
  assertEquals(done.returncode, 0);
});

Deno.test("run() propagates exit code 3", async () => {
  const done = await run(["sh", "-c", "exit 3"]);
  assertEquals(done.returncode, 3);
});

Deno.test("run() with check throws CalledProcessError with code and output", async () => {
  const err = await assertRejects(
    () =>
      runText(["sh", "-c", "echo partial; echo bad >&2; exit 3"], {
        check: true,
      }),
    CalledProcessError,
    "returned non-zero exit status 3",
  );
  assertEquals(err.returncode, 3);
  assertEquals(err.cmd, ["sh", "-c", "echo partial; echo bad >&2; exit 3"]);
  assertEquals(err.stdout, "partial\n");
  assertEquals(err.output, "partial\n");
  assertEquals(err.stderr, "bad\n");
});

Deno.test("run() with check resolves when the exit code is 0", async () => {
  const done = await run(["true"], { check: true });
  assertEquals(done.returncode, 0);
});

Deno.test("run() timeout kills the child and throws TimeoutExpired with partial output", async () => {
  const err = await timesOut(["sh", "-c", "echo $$; exec sleep 30"], 1);
  assertMatch(err.message, /timed out after 1 seconds/);
  assertEquals(err.timeout, 1);
  assertEquals(err.cmd, ["sh", "-c", "echo $$; exec sleep 30"]);
  const pid = Number((err.stdout as string).trim());
  assert(pid > 0, `expected a pid in the partial output, got ${err.stdout}`);
  assertEquals(err.stderr, "");
  assertEquals(await processExists(pid), false);
});

Deno.test("run() timeout does not wait for a grandchild holding the pipe", async () => {
  // `sleep` runs in the background and keeps stdout open after `sh` is
  // killed; run() must still settle.
  const err = await timesOut(["sh", "-c", "sleep 3 & echo started; wait"], 0.5);
  assertEquals(err.timeout, 0.5);
});

Deno.test("run() merges stderr into stdout with STDOUT", async () => {
  const done = await run(
    ["sh", "-c", "echo one; echo two >&2; echo three"],
    { stdout: PIPE, stderr: STDOUT, text: true },
  );
  assertEquals(done.stderr, null);
  assertEquals((done.stdout as string).split("\n").sort(), [
    "",
    "one",
    "three",
    "two",
  ]);
});

Deno.test("run() with STDOUT and stdout DEVNULL drops both", async () => {
  const done = await run(["sh", "-c", "echo out; echo err >&2"], {
    stdout: DEVNULL,
    stderr: STDOUT,
  });
  assertEquals(done.returncode, 0);
  assertEquals(done.stdout, null);
  assertEquals(done.stderr, null);
});

Deno.test("run() with STDOUT and inherited stdout writes stderr to stdout", async () => {
  const script = new URL(
    "./testdata/subprocess_merge_inherit.ts",
    import.meta.url,
  );
  const done = await runText(
    [Deno.execPath(), "run", "--allow-run", script.pathname],
  );
  assertEquals(done.returncode, 0, String(done.stderr));
  assertEquals(done.stdout, "to-stderr\n");
  assertEquals(done.stderr, "");
});

Deno.test("run() sends output to DEVNULL", async () => {
  const done = await run(["sh", "-c", "echo out; echo err >&2"], {
    stdout: PIPE,
    stderr: DEVNULL,
    text: true,
  });
  assertEquals(done.stdout, "out\n");
  assertEquals(done.stderr, null);
});

Deno.test("run() reads empty input from stdin DEVNULL", async () => {
  const done = await run(["cat"], { stdin: DEVNULL, stdout: PIPE });
  assertEquals(done.stdout, new Uint8Array());
});

Deno.test("run() runs in cwd", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const done = await runText(["sh", "-c", "pwd -P"], {
      cwd: dir,
    });
    assertEquals(done.stdout, `${await Deno.realPath(dir)}\n`);
  } finally {
    await Deno.remove(dir);
  }
});

Deno.test("run() with a missing cwd rejects naming the directory", async () => {
  await assertRejects(
    () => run(["sh", "-c", "true"], { cwd: "/no/such/dir" }),
    Deno.errors.NotFound,
    "Cannot run 'sh': the working directory '/no/such/dir' was not found",
  );
});

Deno.test("run() env replaces the environment", async () => {
  const done = await runText(
    ["sh", "-c", 'printf "%s|%s" "$GREETING" "${HOME-unset}"'],
    { env: { GREETING: "hi" } },
  );
  assertEquals(done.stdout, "hi|unset");
});

Deno.test("run() env can extend the parent's environment", async () => {
  const done = await runText(["sh", "-c", 'printf %s "$GREETING"'], {
    env: { ...Deno.env.toObject(), GREETING: "hello" },
  });
  assertEquals(done.stdout, "hello");
});

Deno.test("run() without shell passes $HOME literally", async () => {
  const done = await runText(["echo", "$HOME"]);
  assertEquals(done.stdout, "$HOME\n");
});

Deno.test("run() with shell expands $HOME", async () => {
  const done = await runText("echo $HOME", {
    shell: true,
    env: { HOME: "/home/someone" },
  });
  assertEquals(done.args, "echo $HOME");
  assertEquals(done.stdout, "/home/someone\n");
});

Deno.test("run() with shell passes extra items as $0 and $1", async () => {
  const done = await runText(['printf "%s %s" "$0" "$1"', "zero", "one"], {
    shell: true,
  });
  assertEquals(done.stdout, "zero one");
});

Deno.test("run() with a string and no shell runs it as one program name", async () => {
  const done = await runText("echo");
  assertEquals(done.stdout, "\n");
  await assertRejects(
    () => run("echo $HOME"),
    Deno.errors.NotFound,
    "Cannot run 'echo $HOME': the program was not found",
  );
});

Deno.test("run() rejects a missing program with a clear error", async () => {
  const promise = run(["nosuchprog", "--flag"]);
  assertInstanceOf(promise, Promise);
  const err = await assertRejects(
    () => promise,
    Deno.errors.NotFound,
    "Cannot run 'nosuchprog': the program was not found; check the name and PATH",
  );
  assertInstanceOf(err.cause, Deno.errors.NotFound);
});

Deno.test("run() rejects bad arguments without starting anything", async () => {
  await assertRejects(
    () => run([]),
    RangeError,
    "Cannot run the command: the command is empty",
  );
  await assertRejects(
    // @ts-expect-error: a number is not a command
    () => run(42),
    TypeError,
    "Cannot run the command: the command must be a string or an array",
  );
  await assertRejects(
    // @ts-expect-error: arguments must be strings
    () => run(["echo", 1]),
    TypeError,
    "argument 1 must be a string",
  );
  await assertRejects(
    // @ts-expect-error: a string is not a timeout
    () => run(["true"], { timeout: "1" }),
    TypeError,
    `'timeout' must be a number of seconds, got the string "1"`,
  );
  await assertRejects(
    // @ts-expect-error: not a stream choice
    () => run(["true"], { stdout: "bogus" }),
    TypeError,
    "'stdout' must be PIPE, INHERIT or DEVNULL, got the string \"bogus\"",
  );
  await assertRejects(
    // @ts-expect-error: STDOUT is for stderr only
    () => run(["true"], { stdin: STDOUT }),
    TypeError,
    "'stdin' must be PIPE, INHERIT or DEVNULL",
  );
  await assertRejects(
    () => run(["true"], { capture: true, stdout: PIPE }),
    TypeError,
    "'capture' cannot be combined with 'stdout' or 'stderr'",
  );
  await assertRejects(
    () => run(["cat"], { input: "x", stdin: DEVNULL }),
    TypeError,
    "'input' cannot be combined with 'stdin'",
  );
  await assertRejects(
    // @ts-expect-error: env values must be strings
    () => run(["true"], { env: { N: 1 } }),
    TypeError,
    "env 'N' must be a string",
  );
});

// --- call, checkCall, checkOutput ---------------------------------------------

Deno.test("call() returns the exit code", async () => {
  assertEquals(await call(["true"]), 0);
  assertEquals(await call(["sh", "-c", "exit 3"]), 3);
});

Deno.test("call() timeout kills the child and throws TimeoutExpired", async () => {
  await assertRejects(
    () => call(["sleep", "30"], { timeout: 0.2 }),
    TimeoutExpired,
  );
});

Deno.test("checkCall() returns 0 or throws CalledProcessError", async () => {
  assertEquals(await checkCall(["sh", "-c", "exit 0"]), 0);
  const err = await assertRejects(
    () => checkCall(["sh", "-c", "exit 3"]),
    CalledProcessError,
  );
  assertEquals(err.returncode, 3);
  assertEquals(err.stdout, null);
});

Deno.test("checkOutput() returns stdout", async () => {
  assertEquals(
    await checkOutput(["printf", "%s,%s", "a", "b"], { text: true }),
    "a,b",
  );
  const bytes = await checkOutput(["printf", "ab"]);
  assertEquals(bytes, new Uint8Array([97, 98]));
});

Deno.test("checkOutput() throws CalledProcessError carrying output", async () => {
  const err = await assertRejects(
    () => checkOutput(["sh", "-c", "echo so-far; exit 5"], { text: true }),
    CalledProcessError,
  );
  assertEquals(err.returncode, 5);
  assertEquals(err.output, "so-far\n");
});

Deno.test("checkOutput() takes input and merges stderr with STDOUT", async () => {
  const out = await checkOutput(["sh", "-c", "cat >&2"], {
    input: "via stderr",
    stderr: STDOUT,
    text: true,
  });
  assertEquals(out, "via stderr");
});

Deno.test("checkOutput() rejects a stdout option", async () => {
  await assertRejects(
    // @ts-expect-error: checkOutput sets stdout itself
    () => checkOutput(["true"], { stdout: PIPE }),
    TypeError,
    "checkOutput() sets 'stdout' itself",
  );
});

Deno.test("CompletedProcess.checkReturncode() throws on a non-zero code", () => {
  const ok = new CompletedProcess(["x"], 0, "out", null);
  ok.checkReturncode();
  const bad = new CompletedProcess(["x"], 2, "out", null);
  const err = assertThrows(() => bad.checkReturncode(), CalledProcessError);
  assertEquals(err.returncode, 2);
  assertEquals(err.stdout, "out");
});

Deno.test("TimeoutExpired and CalledProcessError name the command", async () => {
  const err = await assertRejects(
    () => checkCall(["sh", "-c", "exit 9"]),
    CalledProcessError,
  );
  assertStringIncludes(err.message, "Command 'sh -c exit 9'");
});
