/**
 * Python's `multiprocessing` for Deno (see README.md).
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
