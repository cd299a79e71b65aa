/**
 * The public vocabulary of `subprocess.ts`: the stream choices (`PIPE`,
 * `INHERIT`, `DEVNULL`, `STDOUT`), the command and output types, and the
 * options of each call. Everything here is public, re-exported by
 * `../subprocess.ts`.
 *
 * @module
 */

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
