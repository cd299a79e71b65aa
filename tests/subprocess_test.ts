import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { delay } from "@std/async/delay";
import {
  CalledProcessError,
  TimeoutExpired,
  ValueError,
} from "../lib/errors.ts";
import {
  call,
  checkCall,
  checkOutput,
  type CommandLine,
  CompletedProcess,
  DEVNULL,
  INHERIT,
  PIPE,
  Popen,
  run,
  type RunOptions,
  STDOUT,
} from "../lib/subprocess.ts";

const decoder = new TextDecoder();
const MIB = 1024 * 1024;

/** `run`, capturing stdout and stderr as text. */
const runText = (cmd: CommandLine, options: RunOptions<true> = {}) =>
  run(cmd, { capture: true, text: true, ...options });

/** Runs `cmd` with a timeout it must pass; the rejection. */
const timesOut = (cmd: CommandLine, timeout: number) =>
  assertRejects(() => runText(cmd, { timeout }), TimeoutExpired);

/** Splits a byte stream into lines (without their "\n"). */
async function* lines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let buffered = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    buffered += text;
    let end;
    while ((end = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
    }
  }
  if (buffered) yield buffered;
}

/** Reads one chunk and decodes it (for line-at-a-time children). */
async function readText(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<string> {
  const { done, value } = await reader.read();
  assert(!done, "the stream ended early");
  return decoder.decode(value);
}

/** Writes text to a writer. */
async function send(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  text: string,
): Promise<void> {
  await writer.write(new TextEncoder().encode(text));
}

/** A pattern of `size` bytes that is easy to check. */
function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

/** Whether a process with this pid exists (asks `kill -0`). */
async function processExists(pid: number): Promise<boolean> {
  const code = await call(["sh", "-c", `kill -0 ${pid} 2>/dev/null`]);
  return code === 0;
}

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
    "'stdout' must be PIPE, INHERIT or DEVNULL, got 'bogus'",
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
  assertInstanceOf(proc.stdin, WritableStream);
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

Deno.test("TimeoutExpired and CalledProcessError name the command", async () => {
  const err = await assertRejects(
    () => checkCall(["sh", "-c", "exit 9"]),
    CalledProcessError,
  );
  assertStringIncludes(err.message, "Command 'sh -c exit 9'");
});
