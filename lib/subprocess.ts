/**
 * Python's `subprocess` with Deno's `Deno.Command` underneath: `run`,
 * `call`, `checkCall`, `checkOutput` and `Popen`, with the `PIPE`,
 * `INHERIT`, `DEVNULL` and `STDOUT` stream choices.
 *
 * How a child's streams are wired:
 *
 * ```
 *   PIPE     → Deno "piped": a stream on the Popen object
 *   INHERIT  → Deno "inherit": the parent's own stdin/stdout/stderr
 *   DEVNULL  → Deno "null"
 *   STDOUT   → (stderr only) Deno cannot hand one pipe to two fds, so
 *              stderr is piped and merged into stdout in arrival order
 * ```
 *
 * Everything here runs other programs, so it requires `--allow-run` (and
 * `--allow-read` for programs named by path).
 *
 * @module
 */

import { CalledProcessError, TimeoutExpired, ValueError } from "./errors.ts";
import { concat } from "./_common/bytes.ts";
import { timeoutMs } from "./_common/check.ts";
import { settlesWithin } from "./_common/timer.ts";

/**
 * Connect the stream to a pipe the caller reads or writes (Python's
 * `subprocess.PIPE`).
 *
 * @example Usage
 * ```ts
 * import { PIPE, run } from "@seed/multiprocessing";
 * import { assertEquals } from "@std/assert";
 *
 * const done = await run(["echo", "hi"], { stdout: PIPE, text: true });
 * assertEquals(done.stdout, "hi\n");
 * ```
 */
export const PIPE = "pipe";

/**
 * Let the child use the parent's own stream (Python's default, `None`).
 *
 * @example Usage
 * ```ts
 * import { INHERIT, run } from "@seed/multiprocessing";
 * import { assertEquals } from "@std/assert";
 *
 * const done = await run(["true"], { stdout: INHERIT });
 * assertEquals(done.stdout, null);
 * ```
 */
export const INHERIT = "inherit";

/**
 * Connect the stream to the null device: input is empty, output is
 * dropped (Python's `subprocess.DEVNULL`).
 *
 * @example Usage
 * ```ts
 * import { DEVNULL, run } from "@seed/multiprocessing";
 * import { assertEquals } from "@std/assert";
 *
 * const done = await run(["echo", "dropped"], { stdout: DEVNULL });
 * assertEquals(done.returncode, 0);
 * ```
 */
export const DEVNULL = "devnull";

/**
 * For `stderr` only: send the child's stderr wherever its stdout goes
 * (Python's `subprocess.STDOUT`). With `stdout: PIPE` both arrive merged
 * on `stdout`, in the order the parent receives them.
 *
 * @example Usage
 * ```ts
 * import { PIPE, run, STDOUT } from "@seed/multiprocessing";
 * import { assertEquals } from "@std/assert";
 *
 * const done = await run(["sh", "-c", "echo oops >&2"], {
 *   stdout: PIPE,
 *   stderr: STDOUT,
 *   text: true,
 * });
 * assertEquals(done.stdout, "oops\n");
 * assertEquals(done.stderr, null);
 * ```
 */
export const STDOUT = "stdout";

/** Where a child's stdin, stdout or stderr goes. */
export type StdioOption = typeof PIPE | typeof INHERIT | typeof DEVNULL;

/** Where a child's stderr goes: a {@linkcode StdioOption} or `STDOUT`. */
export type StderrOption = StdioOption | typeof STDOUT;

/**
 * A command: the program and its arguments as an array, or one string.
 * A string is a single program name (no splitting, as in Python) unless
 * `shell: true`, when it is a shell command line.
 */
export type CommandLine = string | readonly string[];

/**
 * What captured output is: `string` in text mode, else bytes.
 *
 * @typeParam Text `true` when the call had `text: true`.
 */
export type SubprocessOutput<Text extends boolean> = Text extends true ? string
  : Uint8Array;

/**
 * Options of {@linkcode Popen}.
 *
 * @typeParam Text `true` for decoded (`string`) output.
 */
export interface PopenOptions<Text extends boolean = boolean> {
  /**
   * Where the child's stdin comes from.
   *
   * @default {INHERIT}
   */
  stdin?: StdioOption;
  /**
   * Where the child's stdout goes.
   *
   * @default {INHERIT}
   */
  stdout?: StdioOption;
  /**
   * Where the child's stderr goes; `STDOUT` merges it into stdout.
   *
   * @default {INHERIT}
   */
  stderr?: StderrOption;
  /**
   * The child's working directory.
   *
   * @default {Deno.cwd()}
   */
  cwd?: string | URL;
  /**
   * The child's whole environment. As in Python it replaces the parent's
   * environment; spread `Deno.env.toObject()` into it to extend it.
   *
   * @default {the parent's environment}
   */
  env?: Record<string, string>;
  /**
   * Decode captured output as UTF-8 strings instead of bytes.
   *
   * @default {false}
   */
  text?: Text;
  /**
   * Run the command through `/bin/sh -c` (`cmd.exe /d /s /c` on Windows).
   * Only use it with command lines you trust.
   *
   * @default {false}
   */
  shell?: boolean;
}

/** Options of {@linkcode call} and {@linkcode checkCall}. */
export interface CallOptions extends PopenOptions {
  /**
   * Seconds to wait for the command; when they pass, the child is killed
   * and the call rejects with `TimeoutExpired`.
   *
   * @default {undefined} (no limit)
   */
  timeout?: number;
}

/**
 * Options of {@linkcode run}.
 *
 * @typeParam Text `true` for decoded (`string`) output.
 */
export interface RunOptions<Text extends boolean = boolean>
  extends PopenOptions<Text> {
  /**
   * Bytes or text to write to the child's stdin (which becomes a pipe);
   * stdin is closed after it. Cannot be combined with `stdin`.
   *
   * @default {undefined}
   */
  input?: string | Uint8Array;
  /**
   * Capture stdout and stderr (Python's `capture_output`). Cannot be
   * combined with `stdout` or `stderr`.
   *
   * @default {false}
   */
  capture?: boolean;
  /**
   * Reject with `CalledProcessError` when the exit code is not 0.
   *
   * @default {false}
   */
  check?: boolean;
  /**
   * Seconds to wait for the command; when they pass, the child is killed
   * and the call rejects with `TimeoutExpired` carrying the partial output.
   *
   * @default {undefined} (no limit)
   */
  timeout?: number;
}

/**
 * Options of {@linkcode checkOutput}: those of {@linkcode run} without
 * `stdout`, `capture` and `check`, which `checkOutput` sets itself.
 *
 * @typeParam Text `true` for decoded (`string`) output.
 */
export interface CheckOutputOptions<Text extends boolean = boolean> {
  /**
   * Where the child's stdin comes from.
   *
   * @default {INHERIT}
   */
  stdin?: StdioOption;
  /**
   * Where the child's stderr goes; `STDOUT` merges it into the result.
   *
   * @default {INHERIT}
   */
  stderr?: StderrOption;
  /**
   * The child's working directory.
   *
   * @default {Deno.cwd()}
   */
  cwd?: string | URL;
  /**
   * The child's whole environment (replaces the parent's, as in Python).
   *
   * @default {the parent's environment}
   */
  env?: Record<string, string>;
  /**
   * Decode the output as a UTF-8 string instead of bytes.
   *
   * @default {false}
   */
  text?: Text;
  /**
   * Run the command through `/bin/sh -c`.
   *
   * @default {false}
   */
  shell?: boolean;
  /**
   * Bytes or text to write to the child's stdin.
   *
   * @default {undefined}
   */
  input?: string | Uint8Array;
  /**
   * Seconds to wait before the child is killed and the call rejects with
   * `TimeoutExpired`.
   *
   * @default {undefined} (no limit)
   */
  timeout?: number;
}

/** Options of {@linkcode Popen.prototype.communicate}. */
export interface CommunicateOptions {
  /**
   * Seconds to wait for the child to finish; when they pass, the child is
   * killed and the call rejects with `TimeoutExpired` carrying the output
   * read so far.
   *
   * @default {undefined} (no limit)
   */
  timeout?: number;
}

/** Options of {@linkcode Popen.prototype.wait}. */
export interface WaitOptions {
  /**
   * Seconds to wait; when they pass, the call rejects with
   * `TimeoutExpired` and the child keeps running (as in Python).
   *
   * @default {undefined} (no limit)
   */
  timeout?: number;
}

/**
 * A finished command, as returned by {@linkcode run}.
 *
 * @typeParam Out `string` in text mode, else `Uint8Array`.
 *
 * @example Usage
 * ```ts
 * import { run } from "@seed/multiprocessing";
 * import { assertEquals } from "@std/assert";
 *
 * const done = await run(["sh", "-c", "exit 3"]);
 * assertEquals(done.returncode, 3);
 * ```
 */
export class CompletedProcess<
  Out extends string | Uint8Array = string | Uint8Array,
> {
  /** The command as it was given. */
  readonly args: CommandLine;
  /** The exit code; `-N` when the child was ended by signal `N`. */
  readonly returncode: number;
  /** The captured stdout, or `null` when it was not captured. */
  readonly stdout: Out | null;
  /** The captured stderr, or `null` when it was not captured. */
  readonly stderr: Out | null;

  /**
   * Makes the record (normally {@linkcode run} does this).
   *
   * @param args The command as it was given.
   * @param returncode The exit code.
   * @param stdout The captured stdout, or `null`.
   * @param stderr The captured stderr, or `null`.
   */
  constructor(
    args: CommandLine,
    returncode: number,
    stdout: Out | null = null,
    stderr: Out | null = null,
  ) {
    this.args = args;
    this.returncode = returncode;
    this.stdout = stdout;
    this.stderr = stderr;
  }

  /**
   * Throws when the exit code is not 0 (Python's `check_returncode()`).
   *
   * @throws {CalledProcessError} The exit code is not 0; the error carries
   * the captured output.
   *
   * @example Usage
   * ```ts
   * import { CalledProcessError, run } from "@seed/multiprocessing";
   * import { assertThrows } from "@std/assert";
   *
   * const done = await run(["false"]);
   * assertThrows(() => done.checkReturncode(), CalledProcessError);
   * ```
   */
  checkReturncode(): void {
    if (this.returncode !== 0) {
      throw new CalledProcessError(
        this.returncode,
        cmdList(this.args),
        this.stdout,
        this.stderr,
      );
    }
  }
}

/**
 * Runs a command, waits for it and returns its exit code and the output
 * it captured. Requires `--allow-run`.
 *
 * @typeParam Text `true` when `text: true` (output is `string`).
 * @param cmd The program and its arguments, or a command line with
 * `shell: true`.
 * @param options Streams, input, capture, check, timeout, cwd, env, text
 * and shell.
 * @returns The finished command: `args`, `returncode`, `stdout`, `stderr`.
 * @throws {TypeError} A bad command or option (as a rejection).
 * @throws {RangeError} An empty command.
 * @throws {Deno.errors.NotFound} The program or `cwd` does not exist.
 * @throws {CalledProcessError} `check: true` and the exit code is not 0.
 * @throws {TimeoutExpired} The `timeout` passed; the child was killed.
 *
 * @example Capture the output as text
 * ```ts
 * import { run } from "@seed/multiprocessing";
 * import { assertEquals } from "@std/assert";
 *
 * const done = await run(["sort"], {
 *   input: "b\na\n",
 *   capture: true,
 *   text: true,
 * });
 * assertEquals(done.returncode, 0);
 * assertEquals(done.stdout, "a\nb\n");
 * ```
 */
export async function run<Text extends boolean = false>(
  cmd: CommandLine,
  options: RunOptions<Text> = {},
): Promise<CompletedProcess<SubprocessOutput<Text>>> {
  checkObject(options, "run the command");
  const { input, capture = false, check = false, timeout, ...rest } = options;
  if (capture && (rest.stdout !== undefined || rest.stderr !== undefined)) {
    throw new TypeError(
      "Cannot run the command: 'capture' cannot be combined with 'stdout' or 'stderr'",
    );
  }
  if (input !== undefined && rest.stdin !== undefined) {
    throw new TypeError(
      "Cannot run the command: 'input' cannot be combined with 'stdin'",
    );
  }
  checkInput(input, "run the command");
  timeoutMs(timeout, "run the command");
  const popenOptions: PopenOptions<Text> = { ...rest };
  if (input !== undefined) popenOptions.stdin = PIPE;
  if (capture) {
    popenOptions.stdout = PIPE;
    popenOptions.stderr = PIPE;
  }
  // On every way out (timeout, a failed read) the child is killed and
  // awaited and its pipes are closed; after a normal end this is a no-op.
  await using proc = new Popen<Text>(cmd, popenOptions);
  const [stdout, stderr] = await proc.communicate(input, { timeout });
  const returncode = proc.returncode as number;
  if (check && returncode !== 0) {
    throw new CalledProcessError(returncode, cmdList(cmd), stdout, stderr);
  }
  return new CompletedProcess(proc.args, returncode, stdout, stderr);
}

/**
 * Runs a command, waits for it and returns its exit code (Python's
 * `subprocess.call`). Requires `--allow-run`.
 *
 * @param cmd The program and its arguments, or a command line with
 * `shell: true`.
 * @param options Streams, timeout, cwd, env and shell.
 * @returns The exit code; `-N` when the child was ended by signal `N`.
 * @throws {TypeError} A bad command or option (as a rejection).
 * @throws {Deno.errors.NotFound} The program or `cwd` does not exist.
 * @throws {TimeoutExpired} The `timeout` passed; the child was killed.
 *
 * @example Usage
 * ```ts
 * import { call } from "@seed/multiprocessing";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(await call(["sh", "-c", "exit 2"]), 2);
 * ```
 */
export async function call(
  cmd: CommandLine,
  options: CallOptions = {},
): Promise<number> {
  checkObject(options, "run the command");
  const { stdin, stdout, stderr, cwd, env, text, shell, timeout } = options;
  const done = await run(cmd, {
    stdin,
    stdout,
    stderr,
    cwd,
    env,
    text,
    shell,
    timeout,
  });
  return done.returncode;
}

/**
 * Runs a command and waits for it; resolves to 0 when it succeeded,
 * rejects with {@linkcode CalledProcessError} when it did not (Python's
 * `subprocess.check_call`). Requires `--allow-run`.
 *
 * @param cmd The program and its arguments, or a command line with
 * `shell: true`.
 * @param options Streams, timeout, cwd, env and shell.
 * @returns `0`.
 * @throws {CalledProcessError} The exit code is not 0.
 * @throws {TypeError} A bad command or option (as a rejection).
 * @throws {Deno.errors.NotFound} The program or `cwd` does not exist.
 * @throws {TimeoutExpired} The `timeout` passed; the child was killed.
 *
 * @example Usage
 * ```ts
 * import { CalledProcessError, checkCall } from "@seed/multiprocessing";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * assertEquals(await checkCall(["true"]), 0);
 * const err = await assertRejects(
 *   () => checkCall(["sh", "-c", "exit 4"]),
 *   CalledProcessError,
 * );
 * assertEquals(err.returncode, 4);
 * ```
 */
export async function checkCall(
  cmd: CommandLine,
  options: CallOptions = {},
): Promise<number> {
  const code = await call(cmd, options);
  if (code !== 0) throw new CalledProcessError(code, cmdList(cmd));
  return 0;
}

/**
 * Runs a command and resolves to what it wrote to stdout; rejects with
 * {@linkcode CalledProcessError} (carrying the output) when the exit code
 * is not 0 (Python's `subprocess.check_output`). Requires `--allow-run`.
 *
 * @typeParam Text `true` when `text: true` (output is `string`).
 * @param cmd The program and its arguments, or a command line with
 * `shell: true`.
 * @param options Input, stdin, stderr (`STDOUT` merges it in), timeout,
 * cwd, env, text and shell.
 * @returns The command's stdout.
 * @throws {CalledProcessError} The exit code is not 0.
 * @throws {TypeError} A bad command or option, or a `stdout` option (as a
 * rejection).
 * @throws {Deno.errors.NotFound} The program or `cwd` does not exist.
 * @throws {TimeoutExpired} The `timeout` passed; the child was killed.
 *
 * @example Usage
 * ```ts
 * import { checkOutput } from "@seed/multiprocessing";
 * import { assertEquals } from "@std/assert";
 *
 * const out = await checkOutput(["printf", "%s-%s", "a", "b"], { text: true });
 * assertEquals(out, "a-b");
 * ```
 */
export async function checkOutput<Text extends boolean = false>(
  cmd: CommandLine,
  options: CheckOutputOptions<Text> = {},
): Promise<SubprocessOutput<Text>> {
  checkObject(options, "run the command");
  for (const name of ["stdout", "capture", "check"]) {
    if (name in options) {
      throw new TypeError(
        `Cannot run the command: checkOutput() sets '${name}' itself; remove it`,
      );
    }
  }
  const done = await run<Text>(cmd, { ...options, stdout: PIPE, check: true });
  return done.stdout as SubprocessOutput<Text>;
}

/**
 * A running child process (Python's `subprocess.Popen`): start a command,
 * talk to it through its streams, wait for it, signal it. Requires
 * `--allow-run`.
 *
 * `await using proc = new Popen(...)` kills the child if it still runs
 * when the block ends, closes its pipes and waits for it.
 *
 * @typeParam Text `true` when `text: true` (`communicate()` gives strings).
 *
 * @example Feed input and collect the output
 * ```ts
 * import { PIPE, Popen } from "@seed/multiprocessing";
 * import { assertEquals } from "@std/assert";
 *
 * await using proc = new Popen(["sort"], {
 *   stdin: PIPE,
 *   stdout: PIPE,
 *   text: true,
 * });
 * const [out] = await proc.communicate("pear\napple\n");
 * assertEquals(out, "apple\npear\n");
 * assertEquals(proc.returncode, 0);
 * ```
 *
 * @example Stream the output as it comes
 * ```ts
 * import { PIPE, Popen } from "@seed/multiprocessing";
 * import { assertEquals } from "@std/assert";
 *
 * await using proc = new Popen(["printf", "a\\nb\\n"], { stdout: PIPE });
 * let text = "";
 * for await (const chunk of proc.stdout!.pipeThrough(new TextDecoderStream())) {
 *   text += chunk;
 * }
 * assertEquals(text, "a\nb\n");
 * assertEquals(await proc.wait(), 0);
 * ```
 */
export class Popen<Text extends boolean = false> implements AsyncDisposable {
  /** The command as it was given. */
  readonly args: CommandLine;
  /** The child's OS process id. */
  readonly pid: number;
  /** The child's stdin when it is `PIPE`, else `null`. */
  readonly stdin: WritableStream<Uint8Array> | null;
  /**
   * The child's stdout when it is `PIPE` (with stderr merged in when
   * stderr is `STDOUT`), else `null`.
   */
  readonly stdout: ReadableStream<Uint8Array> | null;
  /** The child's stderr when it is `PIPE`, else `null`. */
  readonly stderr: ReadableStream<Uint8Array> | null;

  #child: Deno.ChildProcess;
  #cmd: string[];
  #text: boolean;
  #returncode: number | null = null;
  #done: Promise<number>;
  #communicated = false;

  /**
   * Starts the command. Requires `--allow-run`.
   *
   * @param cmd The program and its arguments, or a command line with
   * `shell: true`.
   * @param options Streams, cwd, env, text and shell.
   * @throws {TypeError} A bad command or option.
   * @throws {RangeError} An empty command.
   * @throws {Deno.errors.NotFound} The program or `cwd` does not exist.
   */
  constructor(cmd: CommandLine, options: PopenOptions<Text> = {}) {
    const action = "run the command";
    checkObject(options, action);
    const [program, ...args] = commandFor(cmd, options.shell, action);
    const stdin = stdioFor(options.stdin, "stdin", action) as StdioOption;
    const stdout = stdioFor(options.stdout, "stdout", action) as StdioOption;
    const stderr = stdioFor(options.stderr, "stderr", action);
    const { cwd, env } = options;
    if (cwd !== undefined && typeof cwd !== "string" && !(cwd instanceof URL)) {
      throw new TypeError(
        `Cannot ${action}: 'cwd' must be a string or URL, got ${typeName(cwd)}`,
      );
    }
    checkEnv(env, action);
    checkFlag(options.text, "text", action);
    checkFlag(options.shell, "shell", action);

    // STDOUT: with stdout piped, stderr is piped too and merged below; with
    // stdout inherited it is piped and copied to our stdout; with stdout
    // dropped it is dropped.
    const merge = stderr === STDOUT;
    const stderrMode = !merge ? stderr : stdout === DEVNULL ? DEVNULL : PIPE;
    try {
      this.#child = new Deno.Command(program, {
        args,
        cwd,
        env,
        clearEnv: env !== undefined,
        stdin: DENO_STDIO[stdin],
        stdout: DENO_STDIO[stdout],
        stderr: DENO_STDIO[stderrMode],
      }).spawn();
    } catch (error) {
      throw spawnError(error, program, cwd);
    }
    const child = this.#child;
    this.args = typeof cmd === "string" ? cmd : [...cmd];
    this.#cmd = cmdList(cmd);
    this.#text = options.text === true;
    this.pid = child.pid;
    this.stdin = stdin === PIPE ? child.stdin : null;
    let copying: Promise<void> = Promise.resolve();
    if (merge && stdout === PIPE) {
      this.stdout = mergeStreams(child.stdout, child.stderr);
      this.stderr = null;
    } else {
      this.stdout = stdout === PIPE ? child.stdout : null;
      this.stderr = stderr === PIPE ? child.stderr : null;
      if (merge && stdout === INHERIT) copying = copyToStdout(child.stderr);
    }
    this.#done = Promise.all([child.status, copying]).then(([status]) => {
      this.#returncode = returncodeOf(status);
      return this.#returncode;
    });
  }

  /**
   * The exit code once the child has ended (and the parent has noticed),
   * `null` before; `-N` when it was ended by signal `N`.
   *
   * @returns The exit code or `null`.
   */
  get returncode(): number | null {
    return this.#returncode;
  }

  /**
   * Returns the exit code if the child has ended, else `null`, without
   * waiting (Python's `poll()`). The end is noticed by the event loop, so
   * right after the child exits `poll()` may still say `null` for a
   * moment; `await wait()` when you need the code.
   *
   * @returns The exit code or `null`.
   *
   * @example Usage
   * ```ts
   * import { Popen } from "@seed/multiprocessing";
   * import { assertEquals } from "@std/assert";
   *
   * const proc = new Popen(["sleep", "10"]);
   * assertEquals(proc.poll(), null);
   * proc.kill();
   * await proc.wait();
   * assertEquals(proc.poll(), -9);
   * ```
   */
  poll(): number | null {
    return this.#returncode;
  }

  /**
   * Waits for the child to end and resolves to its exit code. Does not
   * read the pipes: a child that fills a pipe nobody reads never ends, so
   * use {@linkcode Popen.prototype.communicate} when stdout or stderr is
   * `PIPE`.
   *
   * On timeout the promise rejects and the child keeps running, as in
   * Python; kill it or wait again.
   *
   * @param options `timeout` in seconds.
   * @returns The exit code; `-N` when the child was ended by signal `N`.
   * @throws {TimeoutExpired} The timeout passed (the child still runs).
   * @throws {TypeError} `timeout` is not a number.
   *
   * @example Usage
   * ```ts
   * import { Popen, TimeoutExpired } from "@seed/multiprocessing";
   * import { assertEquals, assertRejects } from "@std/assert";
   *
   * await using proc = new Popen(["sleep", "10"]);
   * await assertRejects(() => proc.wait({ timeout: 0.1 }), TimeoutExpired);
   * proc.terminate();
   * assertEquals(await proc.wait(), -15);
   * ```
   */
  async wait(options: WaitOptions = {}): Promise<number> {
    checkObject(options, "wait for the process");
    const ms = timeoutMs(options.timeout, "wait for the process");
    if (!await settlesWithin(this.#done, ms)) {
      throw new TimeoutExpired(this.#cmd, options.timeout as number);
    }
    return this.#done;
  }

  /**
   * Writes `input` to the child's stdin and closes it, reads stdout and
   * stderr to their ends and waits for the child, all at once, so no pipe
   * fills up and nothing deadlocks however much flows each way. Call it
   * once, instead of using the streams yourself.
   *
   * On timeout the child is killed (unlike Python, where the caller must
   * kill it) and the promise rejects with {@linkcode TimeoutExpired}
   * carrying what was read so far.
   *
   * @param input Bytes or text for stdin (stdin must be `PIPE`).
   * @param options `timeout` in seconds.
   * @returns `[stdout, stderr]`; each is `null` unless it was `PIPE`.
   * @throws {TimeoutExpired} The timeout passed; the child was killed.
   * @throws {TypeError} Input without `stdin: PIPE`, or a bad argument.
   * @throws {ValueError} `communicate()` was already called, or a pipe is
   * already being read.
   *
   * @example Usage
   * ```ts
   * import { PIPE, Popen } from "@seed/multiprocessing";
   * import { assertEquals } from "@std/assert";
   *
   * await using proc = new Popen(["cat"], { stdin: PIPE, stdout: PIPE });
   * const [out, err] = await proc.communicate(new Uint8Array([1, 2, 3]));
   * assertEquals(out, new Uint8Array([1, 2, 3]));
   * assertEquals(err, null);
   * ```
   */
  async communicate(
    input?: string | Uint8Array,
    options: CommunicateOptions = {},
  ): Promise<[SubprocessOutput<Text> | null, SubprocessOutput<Text> | null]> {
    const action = "communicate with the process";
    checkObject(options, action);
    const ms = timeoutMs(options.timeout, action);
    checkInput(input, action);
    if (input !== undefined && this.stdin === null) {
      throw new TypeError(
        `Cannot ${action}: input needs a stdin pipe; start the process with { stdin: PIPE }`,
      );
    }
    if (this.#communicated) {
      throw new ValueError(
        `Cannot ${action}: communicate() was already called`,
      );
    }
    const streams = {
      stdin: this.stdin,
      stdout: this.stdout,
      stderr: this.stderr,
    };
    for (const [name, stream] of Object.entries(streams)) {
      if (stream?.locked) {
        throw new ValueError(
          `Cannot ${action}: '${name}' is already in use; finish with the stream yourself instead`,
        );
      }
    }
    this.#communicated = true;

    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    const outReader = this.stdout?.getReader();
    const errReader = this.stderr?.getReader();
    const stdinWriter = this.stdin?.getWriter();
    const bytes = typeof input === "string" ? encoder.encode(input) : input;
    const io = Promise.all([
      drain(outReader, out),
      drain(errReader, err),
      feed(stdinWriter, bytes),
    ]);
    // Reading, writing and waiting happen together: awaiting any one of
    // them alone could deadlock on a full pipe.
    const finished = Promise.all([io, this.#done]);
    if (!await settlesWithin(finished, ms)) {
      this.#signal("SIGKILL");
      await this.#done;
      // The pipes end when the child dies, unless a grandchild still holds
      // them open: then give up on them after a short grace period.
      if (!await settlesWithin(io, PIPE_GRACE_MS).catch(() => true)) {
        await Promise.allSettled([
          outReader?.cancel(),
          errReader?.cancel(),
          stdinWriter?.abort(),
        ]);
        await settlesWithin(io, PIPE_GRACE_MS).catch(() => true);
      }
      throw new TimeoutExpired(
        this.#cmd,
        options.timeout as number,
        this.#output(this.stdout, out),
        this.#output(this.stderr, err),
      );
    }
    await finished;
    return [this.#output(this.stdout, out), this.#output(this.stderr, err)];
  }

  /**
   * Sends `signal` to the child; does nothing once it has ended (Python's
   * `send_signal`).
   *
   * @param signal The signal's name, such as `"SIGINT"` or `"SIGUSR1"`.
   * @throws {TypeError} `signal` is not a signal name this platform knows.
   *
   * @example Usage
   * ```ts
   * import { Popen } from "@seed/multiprocessing";
   * import { assertEquals } from "@std/assert";
   *
   * const proc = new Popen(["sleep", "10"]);
   * proc.sendSignal("SIGINT");
   * assertEquals(await proc.wait(), -2);
   * ```
   */
  sendSignal(signal: Deno.Signal): void {
    if (typeof signal !== "string") {
      throw new TypeError(
        `Cannot send the signal: it must be a name such as 'SIGTERM', got ${
          typeName(signal)
        }`,
      );
    }
    this.#signal(signal);
  }

  /**
   * Asks the child to stop with `SIGTERM` (Python's `terminate()`); its
   * exit code becomes `-15` unless it handles the signal. Does nothing once
   * the child has ended.
   *
   * @example Usage
   * ```ts
   * import { Popen } from "@seed/multiprocessing";
   * import { assertEquals } from "@std/assert";
   *
   * const proc = new Popen(["sleep", "10"]);
   * proc.terminate();
   * assertEquals(await proc.wait(), -15);
   * ```
   */
  terminate(): void {
    this.#signal("SIGTERM");
  }

  /**
   * Stops the child at once with `SIGKILL` (Python's `kill()`); its exit
   * code becomes `-9`. Does nothing once the child has ended.
   *
   * @example Usage
   * ```ts
   * import { Popen } from "@seed/multiprocessing";
   * import { assertEquals } from "@std/assert";
   *
   * const proc = new Popen(["sleep", "10"]);
   * proc.kill();
   * assertEquals(await proc.wait(), -9);
   * ```
   */
  kill(): void {
    this.#signal("SIGKILL");
  }

  /**
   * Kills the child if it still runs, closes the pipes the caller did not
   * take over and waits for the child (what `await using` calls).
   *
   * @returns A promise that resolves once the child has ended.
   *
   * @example Usage
   * ```ts
   * import { Popen } from "@seed/multiprocessing";
   * import { assertEquals } from "@std/assert";
   *
   * const proc = new Popen(["sleep", "10"]);
   * await proc[Symbol.asyncDispose]();
   * assertEquals(proc.returncode, -9);
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#signal("SIGKILL");
    const closing: Promise<void>[] = [];
    if (this.stdin && !this.stdin.locked) closing.push(this.stdin.close());
    if (this.stdout && !this.stdout.locked) closing.push(this.stdout.cancel());
    if (this.stderr && !this.stderr.locked) closing.push(this.stderr.cancel());
    // Closing an already closed or broken pipe rejects; that is fine here.
    await Promise.allSettled(closing);
    await this.#done;
  }

  #signal(signal: Deno.Signal): void {
    if (this.#returncode !== null) return;
    try {
      this.#child.kill(signal);
    } catch (error) {
      // The child ended before the event loop told us: nothing to signal.
      if (
        error instanceof TypeError && /already terminated/.test(error.message)
      ) {
        return;
      }
      if (error instanceof TypeError) {
        throw new TypeError(
          `Cannot send signal '${signal}': ${error.message}`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  #output(
    stream: ReadableStream<Uint8Array> | null,
    chunks: Uint8Array[],
  ): SubprocessOutput<Text> | null {
    if (stream === null) return null;
    const bytes = concat(chunks);
    return (this.#text ? decoder.decode(bytes) : bytes) as SubprocessOutput<
      Text
    >;
  }
}

// ---------------------------------------------------------------------------
// Internals

/** How long to keep reading after a timeout kill before giving up. */
const PIPE_GRACE_MS = 200;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const DENO_STDIO: Record<StdioOption, "piped" | "inherit" | "null"> = {
  pipe: "piped",
  inherit: "inherit",
  devnull: "null",
};

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string" ? `'${value}'` : `a ${typeof value}`;
}

function checkObject(options: unknown, action: string): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot ${action}: options must be an object, got ${typeName(options)}`,
    );
  }
}

function checkFlag(value: unknown, name: string, action: string): void {
  if (value !== undefined && typeof value !== "boolean") {
    throw new TypeError(
      `Cannot ${action}: '${name}' must be true or false, got ${
        typeName(value)
      }`,
    );
  }
}

function checkInput(input: unknown, action: string): void {
  if (
    input !== undefined && typeof input !== "string" &&
    !(input instanceof Uint8Array)
  ) {
    throw new TypeError(
      `Cannot ${action}: 'input' must be a string or Uint8Array, got ${
        typeName(input)
      }`,
    );
  }
}

function checkEnv(env: unknown, action: string): void {
  if (env === undefined) return;
  if (env === null || typeof env !== "object" || Array.isArray(env)) {
    throw new TypeError(
      `Cannot ${action}: 'env' must be an object of strings, got ${
        typeName(env)
      }`,
    );
  }
  for (const [key, value] of Object.entries(env)) {
    if (typeof value !== "string") {
      throw new TypeError(
        `Cannot ${action}: env '${key}' must be a string, got ${
          typeName(value)
        }`,
      );
    }
  }
}

/** Checks a stream choice; only `stderr` may be `STDOUT`. */
function stdioFor(
  value: unknown,
  name: "stdin" | "stdout" | "stderr",
  action: string,
): StderrOption {
  if (value === undefined) return INHERIT;
  if (value === PIPE || value === INHERIT || value === DEVNULL) return value;
  if (value === STDOUT && name === "stderr") return value;
  const allowed = name === "stderr"
    ? "PIPE, INHERIT, DEVNULL or STDOUT"
    : "PIPE, INHERIT or DEVNULL";
  throw new TypeError(
    `Cannot ${action}: '${name}' must be ${allowed}, got ${typeName(value)}`,
  );
}

/** The argv to spawn: `[program, ...args]`. */
function commandFor(
  cmd: unknown,
  shell: unknown,
  action: string,
): [string, ...string[]] {
  let argv: string[];
  if (typeof cmd === "string") {
    argv = [cmd];
  } else if (Array.isArray(cmd)) {
    cmd.forEach((arg, i) => {
      if (typeof arg !== "string") {
        throw new TypeError(
          `Cannot ${action}: argument ${i} must be a string, got ${
            typeName(arg)
          }`,
        );
      }
    });
    argv = [...cmd];
  } else {
    throw new TypeError(
      `Cannot ${action}: the command must be a string or an array of strings, got ${
        typeName(cmd)
      }`,
    );
  }
  if (argv.length === 0 || argv[0] === "") {
    throw new RangeError(`Cannot ${action}: the command is empty`);
  }
  if (shell === true) {
    // As in Python: the first item is the command line, the rest become
    // the shell's positional parameters ($0, $1, ...).
    return Deno.build.os === "windows"
      ? ["cmd.exe", "/d", "/s", "/c", ...argv]
      : ["/bin/sh", "-c", ...argv];
  }
  return argv as [string, ...string[]];
}

function cmdList(cmd: CommandLine): string[] {
  return typeof cmd === "string" ? [cmd] : [...cmd];
}

function spawnError(
  error: unknown,
  program: string,
  cwd: string | URL | undefined,
): unknown {
  if (!(error instanceof Deno.errors.NotFound)) return error;
  if (cwd !== undefined && /cwd/i.test(error.message)) {
    return new Deno.errors.NotFound(
      `Cannot run '${program}': the working directory '${cwd}' was not found`,
      { cause: error },
    );
  }
  return new Deno.errors.NotFound(
    `Cannot run '${program}': the program was not found; check the name and PATH`,
    { cause: error },
  );
}

/** Python's convention: a child ended by signal N has return code -N. */
function returncodeOf(status: Deno.CommandStatus): number {
  if (status.signal === null) return status.code;
  // Deno reports a signal death as code 128 + N.
  return status.code > 128 ? -(status.code - 128) : -1;
}

/**
 * Resolves `true` once `promise` settles (rejecting if it rejects), or
 * `false` when `ms` pass first; `undefined` waits without limit. The timer
 * is always cleared.
 */
async function drain(
  reader: ReadableStreamDefaultReader<Uint8Array> | undefined,
  chunks: Uint8Array[],
): Promise<void> {
  if (reader === undefined) return;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
}

async function feed(
  writer: WritableStreamDefaultWriter<Uint8Array> | undefined,
  input: Uint8Array | undefined,
): Promise<void> {
  if (writer === undefined) return;
  try {
    if (input !== undefined && input.length > 0) await writer.write(input);
    await writer.close();
  } catch (error) {
    // The child closed its stdin (or ended) before reading everything:
    // Python ignores this too; the exit code tells the story.
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
    await writer.abort().catch(() => {});
  } finally {
    writer.releaseLock();
  }
}

async function copyToStdout(stream: ReadableStream<Uint8Array>): Promise<void> {
  try {
    for await (const chunk of stream) {
      let written = 0;
      while (written < chunk.length) {
        written += await Deno.stdout.write(chunk.subarray(written));
      }
    }
  } catch {
    // Our stdout is gone; the child's output has nowhere to go.
  }
}

/**
 * One stream of the chunks of `a` and `b` in the order they arrive (how
 * `stderr: STDOUT` works without a shared pipe). Each source has at most
 * one read in flight; a new one starts only when the consumer pulls, so
 * backpressure reaches the child.
 */
function mergeStreams(
  a: ReadableStream<Uint8Array>,
  b: ReadableStream<Uint8Array>,
): ReadableStream<Uint8Array> {
  type Arrival = {
    reader: ReadableStreamDefaultReader<Uint8Array>;
    result?: ReadableStreamReadResult<Uint8Array>;
    error?: unknown;
    failed: boolean;
  };
  const readers = [a.getReader(), b.getReader()];
  let open = readers.length;
  const arrived: Arrival[] = [];
  let wake: (() => void) | null = null;

  function readNext(reader: ReadableStreamDefaultReader<Uint8Array>): void {
    reader.read().then(
      (result) => arrived.push({ reader, result, failed: false }),
      (error) => arrived.push({ reader, error, failed: true }),
    ).finally(() => wake?.());
  }

  return new ReadableStream<Uint8Array>({
    start() {
      for (const reader of readers) readNext(reader);
    },
    async pull(controller) {
      while (open > 0) {
        const next = arrived.shift();
        if (next === undefined) {
          await new Promise<void>((resolve) => wake = resolve);
          wake = null;
          continue;
        }
        if (next.failed) {
          await Promise.allSettled(readers.map((r) => r.cancel()));
          throw next.error;
        }
        if (next.result!.done) {
          open--;
          continue;
        }
        readNext(next.reader);
        controller.enqueue(next.result!.value);
        return;
      }
      controller.close();
    },
    async cancel(reason) {
      await Promise.allSettled(readers.map((r) => r.cancel(reason)));
    },
  });
}
