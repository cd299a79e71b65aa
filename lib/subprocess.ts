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

import { CalledProcessError } from "./errors.ts";
import { timeoutMs } from "./_common/check.ts";
import {
  type CallOptions,
  type CheckOutputOptions,
  type CommandLine,
  PIPE,
  type PopenOptions,
  type RunOptions,
  type SubprocessOutput,
} from "./_subprocess/options.ts";
import { checkInput, checkObject, cmdList } from "./_subprocess/check.ts";
import { Popen } from "./_subprocess/popen.ts";

export * from "./_subprocess/options.ts";
export { Popen } from "./_subprocess/popen.ts";

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
