/**
 * `Popen`: one running child on `Deno.Command`, its streams wired as the
 * options say (see `../subprocess.ts` for the drawing), its exit code in
 * Python's convention. Re-exported by `../subprocess.ts`.
 *
 * @module
 */

import { TimeoutExpired, ValueError } from "../errors.ts";
import { concat } from "../_common/bytes.ts";
import { describe, timeoutMs } from "../_common/check.ts";
import { settlesWithin } from "../_common/timer.ts";
import {
  type CommandLine,
  type CommunicateOptions,
  DEVNULL,
  INHERIT,
  PIPE,
  type PopenOptions,
  type StdioOption,
  STDOUT,
  type SubprocessOutput,
  type WaitOptions,
} from "./options.ts";
import {
  checkEnv,
  checkFlag,
  checkInput,
  checkObject,
  cmdList,
  commandFor,
  stdioFor,
} from "./check.ts";
import { copyToStdout, drain, feed, mergeStreams } from "./streams.ts";

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
        `Cannot ${action}: 'cwd' must be a string or URL, got ${describe(cwd)}`,
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
          describe(signal)
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

/** How long to keep reading after a timeout kill before giving up. */
const PIPE_GRACE_MS = 200;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const DENO_STDIO: Record<StdioOption, "piped" | "inherit" | "null"> = {
  pipe: "piped",
  inherit: "inherit",
  devnull: "null",
};

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
