/**
 * Seeing a `deno` child's end from a thread that blocks its event loop
 * (`Process.joinSync` with the `"subprocess"` start method).
 *
 * Deno learns that a child ended when its event loop collects the child
 * (`waitpid`) and settles `ChildProcess.status`; a thread blocked in
 * `Atomics.wait` runs no event loop, so that never happens while it waits.
 * Until it is collected, though, a child that has ended stays a zombie,
 * and on Linux `/proc/<pid>/stat` says so: its state is `Z`, and its
 * `exit_code` field (52) holds the status `waitpid` will return (the
 * signal in the low 7 bits, the exit code in bits 8-15). Polling that
 * file, with short sleeps that grow from 50 µs to 5 ms, gives the end and
 * its code without the event loop. The pid cannot be reused while the
 * zombie lasts, and it lasts until this program's event loop collects it.
 *
 * The wait throws, saying to use `await join()`, where it cannot work:
 * - elsewhere than Linux (macOS, Windows), and where Deno does not let
 *   this program read `/proc` (only `--allow-all` may);
 * - without a timeout, while the child is still starting (it gets its
 *   target over a connection this program's event loop serves), or once
 *   it was sent a primitive this program serves (each of its operations
 *   is answered by that event loop), so it could never end (unless it
 *   was sent a signal);
 * - when the event loop has just collected the child (so `/proc` no
 *   longer knows it) but its status has not yet reached JavaScript.
 *
 * @module
 */

import { checkStop } from "../_shm/wait.ts";

/** First pause between two looks at `/proc`, in milliseconds. */
const FIRST_PAUSE_MS = 0.05;
/** Longest pause between two looks at `/proc`, in milliseconds. */
const LONGEST_PAUSE_MS = 5;

/** A private slot to sleep on: nobody else holds it, so nothing wakes it. */
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * The end of one `deno` child, seen without its parent's event loop.
 * Made by `ChildThread.watchExit()` right after the child is spawned, so
 * that it also holds the code once the event loop has collected the
 * child (from then on `/proc` no longer knows it).
 */
export class ChildExitWatch {
  #pid: number;
  #signals: Record<string, number>;
  #blocked: () => string | null;
  /** The code, once the event loop collected the child. */
  #collected: number | null = null;

  /**
   * Watches the child `pid`.
   *
   * @param pid The child's pid.
   * @param status The child's `ChildProcess.status`.
   * @param signals Signal numbers by name: a signal named here ends the
   *   child with code `-number`, any other with `-128` (as the "exit"
   *   event of `ChildThread` reports it).
   * @param blocked Why the child cannot end while this program's event
   *   loop is blocked (it is still starting, or waits on what this
   *   program serves it), or `null` when it can.
   */
  constructor(
    pid: number,
    status: Promise<Deno.CommandStatus>,
    signals: Record<string, number>,
    blocked: () => string | null,
  ) {
    this.#pid = pid;
    this.#signals = signals;
    this.#blocked = blocked;
    status.then((s) => {
      this.#collected = s.signal !== null
        ? -(signals[s.signal] ?? 128)
        : s.code;
    }, () => {
      // The child's owner reports a failed status.
    });
  }

  /**
   * Blocks the thread until the child has ended (all its threads gone,
   * when `waitpid` would return) or `deadline` passes.
   *
   * @param deadline A `performance.now()` deadline, or `Infinity`.
   * @param action What is being done, for error messages.
   * @param signalled Whether the child was sent a signal that ends it.
   * @returns The child's exit code (`-signal` when a signal ended it), or
   *   `null` when the deadline passed first.
   * @throws {Error} When a blocked thread cannot see the child's end (see
   *   the module's doc): the message says why, and to use `await join()`.
   */
  waitSync(
    deadline: number,
    action: string,
    signalled: boolean,
  ): number | null {
    let pause = FIRST_PAUSE_MS;
    for (let first = true;; first = false) {
      if (this.#collected !== null) return this.#collected;
      const status = this.#readStatus(action);
      if (status !== null) return this.#codeOf(status);
      // Nothing the child needs can happen while this thread waits, so
      // this holds for the whole wait once it holds at its start.
      if (first && deadline === Infinity && !signalled) {
        const why = this.#blocked();
        if (why !== null) throw unsupported(action, why);
      }
      const left = deadline - performance.now();
      if (left <= 0) return null;
      checkStop();
      Atomics.wait(sleeper, 0, 0, Math.min(pause, left));
      pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
    }
  }

  /** The `waitpid` status once the child has ended, else `null`. */
  #readStatus(action: string): number | null {
    if (Deno.build.os !== "linux" && Deno.build.os !== "android") {
      throw unsupported(
        action,
        `a blocked thread sees a child's end only through Linux's /proc, and this is ${Deno.build.os}`,
      );
    }
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${this.#pid}/stat`);
    } catch (err) {
      if (err instanceof Deno.errors.NotCapable) {
        throw unsupported(
          action,
          "a blocked thread sees a child's end only through /proc, which Deno lets only a program run with --allow-all read",
          err,
        );
      }
      // Collected already, but its status has not reached JavaScript:
      // the event loop delivers it on its next turn.
      throw unsupported(
        action,
        "the child ended just now, and its exit code is on its way to this program's event loop, which joinSync blocks",
        err,
      );
    }
    // The command name (field 2) is in parentheses and may hold spaces
    // and parentheses itself: fields from 3 on follow the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).trim().split(" ");
    const state = fields[0]; // field 3
    const threads = Number(fields[17]); // field 20, num_threads
    const exitCode = fields[49]; // field 52, exit_code (Linux 3.5+)
    if (exitCode === undefined) {
      throw unsupported(
        action,
        "this Linux kernel's /proc does not show exit codes (it needs Linux 3.5)",
      );
    }
    // The leader thread turns zombie first and its code is final then,
    // but the child has ended (waitpid returns) only when its other
    // threads are gone too: the zombie is then the group's one thread.
    if (state !== "Z" || threads > 1) return null;
    return Number(exitCode);
  }

  /** An exit code in `Process` form from a `waitpid` status. */
  #codeOf(status: number): number {
    const signal = status & 0x7f;
    if (signal === 0) return (status >> 8) & 0xff;
    return Object.values(this.#signals).includes(signal) ? -signal : -128;
  }
}

function unsupported(action: string, why: string, cause?: unknown): Error {
  return new Error(`Cannot ${action}: ${why}; use await join()`, { cause });
}
