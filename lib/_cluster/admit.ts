/**
 * What a worker host agrees to run: entries that decode to well-formed
 * tasks, functions from modules under its allowed roots, and functions
 * shipped by source only when it was started with `--allow-source`.
 * Nothing read from the broker runs before these checks.
 *
 * May import: the core protocol, `./protocol.ts`.
 *
 * @module
 */

import { TaskMode } from "../_launch/protocol.ts";
import { type ClusterTask, decode, type TaskEntry } from "./protocol.ts";

/** The local-pool target that runs a function shipped by source. */
export const RUN_SOURCE: { module: string; name: string } = {
  module: new URL("./run_source.ts", import.meta.url).href,
  name: "runSource",
};

/** A host's rules. */
export interface AdmitRules {
  /** The host's working directory as a `file:` URL ending in "/". */
  cwd: string;
  /** URL prefixes a task's module must start with. */
  roots: string[];
  /** Whether functions shipped by source may run. */
  allowSource: boolean;
  /** Whether any module may be imported (the host's own program). */
  anyModule: boolean;
}

/**
 * What the local pool should run for task `t`, or why it is refused.
 *
 * A `file:` module under the caller's working directory maps to the
 * same path under the host's; the URL is normalized (no `..` escapes a
 * root) before it is checked against the roots.
 *
 * @param entry The entry the task came in.
 * @param t The task.
 * @param rules The host's rules.
 * @returns `{ module, name }` for the local pool, or the refusal message.
 */
export function admit(
  entry: TaskEntry,
  t: ClusterTask,
  rules: AdmitRules,
): { module: string; name: string } | string {
  const label = t.label;
  if (t.ref.module === undefined) {
    if (typeof t.ref.source !== "string") {
      return `Cannot run task '${label}': it names no module and no source`;
    }
    if (rules.allowSource) return RUN_SOURCE;
    return `Cannot run task '${label}': no module the caller looked in exports it, so it was shipped by its source, and this worker host runs only exported functions; export '${label}' from the caller's main module (or pass { module, name }), or start the worker host with --allow-source`;
  }
  let url: string;
  try {
    url = new URL(t.ref.module).href;
  } catch {
    return `Cannot run task '${label}': its module "${t.ref.module}" is not a URL`;
  }
  if (url.startsWith(entry.cwd)) {
    url = new URL(url.slice(entry.cwd.length), rules.cwd).href;
  }
  if (!rules.anyModule && !rules.roots.some((r) => url.startsWith(r))) {
    return `Cannot run task '${label}': its module ${url} is outside the modules this worker host may import (${
      rules.roots.join(", ")
    }); start the worker host with --allow-module <root> to allow it`;
  }
  return { module: url, name: t.ref.name };
}

/**
 * Decodes and checks an entry of the task stream.
 *
 * @param bytes The entry's `e` field.
 * @returns The entry, or why it is malformed (for the log).
 */
export function parseEntry(bytes: unknown): TaskEntry | string {
  if (!(bytes instanceof Uint8Array)) return "no 'e' field with a payload";
  let e: TaskEntry;
  try {
    e = decode<TaskEntry>(bytes);
  } catch (err) {
    return `undecodable payload (${
      err instanceof Error ? err.message : String(err)
    })`;
  }
  if (
    e === null || typeof e !== "object" || typeof e.caller !== "string" ||
    typeof e.cwd !== "string" || typeof e.vt !== "number" ||
    typeof e.maxDeaths !== "number" || typeof e.expire !== "number" ||
    !Array.isArray(e.tasks) || e.tasks.length === 0
  ) {
    return "payload is not a task entry";
  }
  for (const t of e.tasks) {
    if (
      t === null || typeof t !== "object" || typeof t.id !== "number" ||
      typeof t.label !== "string" || !Array.isArray(t.args) ||
      t.ref === null || typeof t.ref !== "object" ||
      typeof t.ref.name !== "string" ||
      ![TaskMode.Apply, TaskMode.Map, TaskMode.Starmap].includes(t.mode)
    ) {
      return "a task in it is malformed";
    }
  }
  return e;
}
