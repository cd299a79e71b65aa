/**
 * The error classes of `@seed/multiprocessing`. Each is exported from
 * `mod.ts` so callers can `instanceof`-check what they expect to catch.
 *
 * @module
 */

/**
 * The base of this module's error classes: an `Error` that takes the
 * standard error options (`cause`) and, made without a message, has its
 * class's {@linkcode MultiprocessingError.defaultMessage}. Each subclass
 * sets `name` to its own class name.
 *
 * @example Usage
 * ```ts
 * import { Empty, MultiprocessingError } from "@seed/multiprocessing";
 * const err = new Empty();
 * console.log(err instanceof MultiprocessingError, err.message); // true "Cannot get an item: the queue is empty"
 * ```
 */
export class MultiprocessingError extends Error {
  /** The class's name, `"MultiprocessingError"`. */
  override name = "MultiprocessingError";
  /** The message of an error of this class made without one. */
  static readonly defaultMessage: string = "A multiprocessing operation failed";

  /**
   * Makes the error.
   *
   * @param message What happened and what to do (default: the class's
   * {@linkcode MultiprocessingError.defaultMessage}).
   * @param options The standard error options (`cause`).
   */
  constructor(message?: string, options?: ErrorOptions) {
    super(
      message ?? (new.target as typeof MultiprocessingError).defaultMessage,
      options,
    );
  }
}

/**
 * Raised by a non-blocking or timed-out `get` on an empty queue.
 *
 * @example Usage
 * ```ts
 * import { Empty } from "@seed/multiprocessing";
 * const err = new Empty("Cannot get from the queue: it is empty");
 * console.log(err.name); // "Empty"
 * ```
 */
export class Empty extends MultiprocessingError {
  /** The class's name, `"Empty"`. */
  override name = "Empty";
  /** The message it has when made without one. */
  static override readonly defaultMessage =
    "Cannot get an item: the queue is empty";
}

/**
 * Raised by a non-blocking or timed-out `put` on a full bounded queue.
 *
 * @example Usage
 * ```ts
 * import { Full } from "@seed/multiprocessing";
 * console.log(new Full().name); // "Full"
 * ```
 */
export class Full extends MultiprocessingError {
  /** The class's name, `"Full"`. */
  override name = "Full";
  /** The message it has when made without one. */
  static override readonly defaultMessage =
    "Cannot put an item: the queue is full";
}

/**
 * Raised when a wait gives up after its `timeout` (in seconds).
 *
 * @example Usage
 * ```ts
 * import { TimeoutError } from "@seed/multiprocessing";
 * console.log(new TimeoutError("Cannot get the result: timed out after 1s").name); // "TimeoutError"
 * ```
 */
export class TimeoutError extends MultiprocessingError {
  /** The class's name, `"TimeoutError"`. */
  override name = "TimeoutError";
  /** The message it has when made without one. */
  static override readonly defaultMessage = "Timed out";
}

/** The shape of a remote error as it crosses between processes. */
export interface RemoteErrorInfo {
  /** The remote error's `name` (`"TypeError"`, a custom class name …). */
  name: string;
  /** The remote error's `message`. */
  message: string;
  /** The remote error's stack, as printed in the process that threw. */
  stack?: string;
  /** The remote error's `cause`, when it could be cloned. */
  cause?: unknown;
  /**
   * `true` when what was thrown is not an `Error` (`throw "boom"`): then
   * `message` shows the value and `cause` is the value itself.
   */
  nonError?: boolean;
}

/**
 * A task or process target threw. Carries the remote error's `name`,
 * `message` and `stack` (in {@linkcode ProcessError.remoteStack}), and its
 * `cause` when that could be cloned. A thrown value that is not an
 * `Error` (`throw "boom"`, `throw { code: 7 }`) is shown in the message
 * ("Task 'f' threw a non-Error value: \"boom\"") and is the `cause`.
 *
 * @example Usage
 * ```ts
 * import { ProcessError } from "@seed/multiprocessing";
 * const err = new ProcessError({ name: "TypeError", message: "bad" }, "square");
 * console.log(err.remoteName, err.message); // "TypeError" "Task 'square' threw TypeError: bad"
 * ```
 */
export class ProcessError extends MultiprocessingError {
  /** The class's name, `"ProcessError"`. */
  override name = "ProcessError";
  /** The `name` of the error thrown in the other process. */
  readonly remoteName: string;
  /** The `message` of the error thrown in the other process. */
  readonly remoteMessage: string;
  /** The stack of the error thrown in the other process. */
  readonly remoteStack: string;

  /**
   * Makes the error from what the other process reported.
   *
   * @param info The remote error's name, message, stack and cause.
   * @param task The name of the function that threw, for the message.
   */
  constructor(info: RemoteErrorInfo, task?: string) {
    const where = task ? `Task '${task}'` : "The task";
    super(
      info.nonError
        ? `${where} threw a non-Error value: ${info.message}`
        : `${where} threw ${info.name}: ${info.message}`,
      // A thrown value is the cause, even `undefined` (`throw undefined`).
      info.cause === undefined && !info.nonError
        ? undefined
        : { cause: info.cause },
    );
    this.remoteName = info.name;
    this.remoteMessage = info.message;
    this.remoteStack = info.stack ??
      (info.nonError
        ? `Uncaught ${info.message}`
        : `${info.name}: ${info.message}`);
    // Show where it really happened: the remote stack follows ours.
    this.stack = `${this.stack}\n--- remote stack ---\n${this.remoteStack}`;
  }
}

/**
 * The worker or child process running a task died (it exited, crashed, ran
 * out of memory or was killed) before the task finished.
 *
 * @example Usage
 * ```ts
 * import { WorkerLostError } from "@seed/multiprocessing";
 * console.log(new WorkerLostError("Worker exited with code 3").name); // "WorkerLostError"
 * ```
 */
export class WorkerLostError extends MultiprocessingError {
  /** The class's name, `"WorkerLostError"`. */
  override name = "WorkerLostError";
  /** The exit code of the lost worker, when known. */
  readonly exitCode: number | null;

  /**
   * Makes the error.
   *
   * @param message What happened and what to do.
   * @param exitCode The lost worker's exit code, when known.
   */
  constructor(message: string, exitCode: number | null = null) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * A pool task did not finish because `terminate()` (or `await using`'s
 * dispose) ended its pool first: every task still queued or running
 * rejects with it.
 *
 * @example Usage
 * ```ts
 * import { Pool, PoolTerminatedError } from "@seed/multiprocessing";
 *
 * const pool = new Pool(1);
 * const r = pool.applyAsync(() => 1);
 * pool.terminate();
 * try {
 *   await r;
 * } catch (err) {
 *   console.log(err instanceof PoolTerminatedError); // true
 * }
 * await pool.join();
 * ```
 */
export class PoolTerminatedError extends MultiprocessingError {
  /** The class's name, `"PoolTerminatedError"`. */
  override name = "PoolTerminatedError";
  /** The message it has when made without one. */
  static override readonly defaultMessage =
    "Cannot finish the task: the pool was terminated";
}

/**
 * A `Barrier` was aborted or reset while a party waited, or a wait on it
 * timed out (which breaks it).
 *
 * @example Usage
 * ```ts
 * import { BrokenBarrierError } from "@seed/multiprocessing";
 * console.log(new BrokenBarrierError().name); // "BrokenBarrierError"
 * ```
 */
export class BrokenBarrierError extends MultiprocessingError {
  /** The class's name, `"BrokenBarrierError"`. */
  override name = "BrokenBarrierError";
  /** The message it has when made without one. */
  static override readonly defaultMessage =
    "Cannot pass the barrier: it is broken; call reset() to use it again";
}

/**
 * Python's `subprocess.SubprocessError`: the base of the errors of a
 * command run by the subprocess API, carrying the command and what it
 * wrote when that was captured.
 *
 * @example Usage
 * ```ts
 * import { CalledProcessError, SubprocessError } from "@seed/multiprocessing";
 * const err = new CalledProcessError(2, ["ls", "/nope"]);
 * console.log(err instanceof SubprocessError, err.cmd); // true ["ls", "/nope"]
 * ```
 */
export class SubprocessError extends MultiprocessingError {
  /** The class's name, `"SubprocessError"`. */
  override name = "SubprocessError";
  /** The command and its arguments. */
  readonly cmd: string[];
  /** What the command wrote to stdout, when captured. */
  readonly stdout: string | Uint8Array | null;
  /** What the command wrote to stderr, when captured. */
  readonly stderr: string | Uint8Array | null;

  /**
   * Makes the error.
   *
   * @param message What happened.
   * @param cmd The command and its arguments.
   * @param stdout Captured stdout, if any.
   * @param stderr Captured stderr, if any.
   */
  constructor(
    message: string,
    cmd: string[],
    stdout: string | Uint8Array | null = null,
    stderr: string | Uint8Array | null = null,
  ) {
    super(message);
    this.cmd = cmd;
    this.stdout = stdout;
    this.stderr = stderr;
  }

  /** Python's alias of {@linkcode SubprocessError.stdout}. */
  get output(): string | Uint8Array | null {
    return this.stdout;
  }
}

/**
 * A command run with `check: true` (or through `checkCall` /
 * `checkOutput`) exited with a non-zero code.
 *
 * @example Usage
 * ```ts
 * import { CalledProcessError } from "@seed/multiprocessing";
 * const err = new CalledProcessError(2, ["ls", "/nope"]);
 * console.log(err.returncode); // 2
 * ```
 */
export class CalledProcessError extends SubprocessError {
  /** The class's name, `"CalledProcessError"`. */
  override name = "CalledProcessError";
  /** The exit code of the command. */
  readonly returncode: number;

  /**
   * Makes the error.
   *
   * @param returncode The command's exit code.
   * @param cmd The command and its arguments.
   * @param stdout Captured stdout, if any.
   * @param stderr Captured stderr, if any.
   */
  constructor(
    returncode: number,
    cmd: string[],
    stdout: string | Uint8Array | null = null,
    stderr: string | Uint8Array | null = null,
  ) {
    super(
      `Command '${cmd.join(" ")}' returned non-zero exit status ${returncode}`,
      cmd,
      stdout,
      stderr,
    );
    this.returncode = returncode;
  }
}

/**
 * A command did not finish within its `timeout`; it was killed. Its
 * `stdout` and `stderr` are what it wrote before that, when captured.
 *
 * @example Usage
 * ```ts
 * import { TimeoutExpired } from "@seed/multiprocessing";
 * const err = new TimeoutExpired(["sleep", "5"], 0.1);
 * console.log(err.timeout); // 0.1
 * ```
 */
export class TimeoutExpired extends SubprocessError {
  /** The class's name, `"TimeoutExpired"`. */
  override name = "TimeoutExpired";
  /** The timeout, in seconds. */
  readonly timeout: number;

  /**
   * Makes the error.
   *
   * @param cmd The command and its arguments.
   * @param timeout The timeout that expired, in seconds.
   * @param stdout Captured stdout, if any.
   * @param stderr Captured stderr, if any.
   */
  constructor(
    cmd: string[],
    timeout: number,
    stdout: string | Uint8Array | null = null,
    stderr: string | Uint8Array | null = null,
  ) {
    super(
      `Command '${cmd.join(" ")}' timed out after ${timeout} seconds`,
      cmd,
      stdout,
      stderr,
    );
    this.timeout = timeout;
  }
}

/**
 * A manager connection was refused because the `authkey` did not match.
 *
 * @example Usage
 * ```ts
 * import { AuthenticationError } from "@seed/multiprocessing";
 * console.log(new AuthenticationError().name); // "AuthenticationError"
 * ```
 */
export class AuthenticationError extends MultiprocessingError {
  /** The class's name, `"AuthenticationError"`. */
  override name = "AuthenticationError";
  /** The message it has when made without one. */
  static override readonly defaultMessage =
    "Cannot connect to the manager: the authkey does not match";
}

/**
 * Python's `EOFError`: `recv` on a connection whose other end is closed and
 * which has nothing left to read.
 *
 * @example Usage
 * ```ts
 * import { EOFError } from "@seed/multiprocessing";
 * console.log(new EOFError().name); // "EOFError"
 * ```
 */
export class EOFError extends MultiprocessingError {
  /** The class's name, `"EOFError"`. */
  override name = "EOFError";
  /** The message it has when made without one. */
  static override readonly defaultMessage =
    "Cannot receive: the other end is closed and nothing is left to read";
}

/**
 * Python's `BrokenPipeError`: `send` on a connection whose other end is
 * held by no process any more (each closed its handle, ended or was
 * killed), so nothing sent could ever be received.
 *
 * @example Usage
 * ```ts
 * import { BrokenPipeError, Pipe } from "@seed/multiprocessing";
 *
 * const [a, b] = Pipe();
 * b.close();
 * await a.send(1).catch((e) => console.log(e instanceof BrokenPipeError)); // true
 * a.close();
 * ```
 */
export class BrokenPipeError extends MultiprocessingError {
  /** The class's name, `"BrokenPipeError"`. */
  override name = "BrokenPipeError";
  /** The message it has when made without one. */
  static override readonly defaultMessage =
    "Cannot send: no process holds the other end of the pipe any more";
}

/**
 * Python's `ValueError`: an operation got a value it cannot act on (such as
 * `taskDone()` called more times than items were put, or releasing a
 * semaphore above its bound).
 *
 * @example Usage
 * ```ts
 * import { ValueError } from "@seed/multiprocessing";
 * console.log(new ValueError("Cannot call taskDone(): no task is pending").name); // "ValueError"
 * ```
 */
export class ValueError extends MultiprocessingError {
  /** The class's name, `"ValueError"`. */
  override name = "ValueError";
  /**
   * Makes the error.
   *
   * @param message What happened and what to do.
   */
  constructor(message: string) {
    super(message);
  }
}
