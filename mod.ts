/**
 * Python's `multiprocessing` and `subprocess` for Deno: real parallelism
 * over every core, with the names a Python programmer knows.
 *
 * Import it as a namespace, `import * as mp from "@seed/multiprocessing"`:
 * it exports `Array` (a shared array), which would otherwise shadow the
 * global `Array`.
 *
 * ## Which one to reach for
 *
 * - **{@linkcode Pool}**: the same function over many inputs, CPU-bound
 *   (`pool.map`, `pool.imap`), or many independent calls (`applyAsync`).
 *   Start here for "use every core".
 * - **{@linkcode Process}**: one long-lived job with its own life cycle:
 *   start it, stop it (`terminate()` works even on a busy loop), wait for
 *   it, read its `exitCode`.
 * - **{@linkcode Queue}** (and `JoinableQueue`, `SimpleQueue`): hand items
 *   between processes, producers to consumers, with backpressure.
 *   **{@linkcode Pipe}** for exactly two ends.
 * - **{@linkcode Lock}**, `RLock`, `Semaphore`, `Event`, `Condition`,
 *   `Barrier`: coordinate processes through shared memory. A lock whose
 *   holder died is handed on instead of deadlocking.
 * - **{@linkcode Value}** and `Array`: numbers shared by every process,
 *   exact under their lock; the fastest way to share counters and buffers.
 * - **{@linkcode Manager}**: shared dicts, lists and namespaces held by a
 *   server and reached through proxies, from any process, even over TCP
 *   from another machine (`serveManager` / `connectManager`). Slower than
 *   `Value` (a round trip per call) but holds any structured value.
 * - **{@linkcode run}** and {@linkcode Popen}: run other programs, Python's
 *   `subprocess` on `Deno.Command`.
 *
 * Processes start as worker threads by default (each its own isolate and
 * heap); `startMethod: "subprocess"` starts `deno` OS children instead
 * (own pid, signals, per-child permissions). An OS child shares no memory,
 * so the locks, queues and values it is given are served by its parent:
 * the same API, at a round trip (~0.1–0.2 ms) per operation.
 * Functions reach a process by reference when exported from the main
 * module (guard the program with `if (import.meta.main)`), or by source
 * when self-contained.
 *
 * @example Square numbers on every core
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 *
 * await using pool = new mp.Pool(2);
 * console.log(await pool.map((n: number) => n * n, [1, 2, 3])); // [1, 4, 9]
 * ```
 *
 * @module
 */
export * from "./lib/errors.ts";
export {
  activeChildren,
  cpuCount,
  currentProcess,
  type ParentProcess,
  parentProcess,
  Process,
  type ProcessArgs,
  type ProcessKwargs,
  type ProcessOptions,
} from "./lib/process.ts";
export * from "./lib/pool.ts";
export * from "./lib/context.ts";
export * from "./lib/subprocess.ts";
export * from "./lib/queue.ts";
export * from "./lib/pipe.ts";
export * from "./lib/synchronize.ts";
export * from "./lib/shared_value.ts";
export * from "./lib/manager.ts";
