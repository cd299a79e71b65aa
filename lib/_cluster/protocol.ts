/**
 * What callers and worker hosts write to the broker, defined once for
 * both sides: the key names and the shapes of stream entries.
 *
 * ```text
 *  caller                      Redis                         worker host
 *  ------                      -----                         -----------
 *  XADD  mp:<name>:tasks  ──►  stream, group "hosts"  ──►  XREADGROUP (claims)
 *        { e: TaskEntry }                                     runs in its local Pool
 *  XREAD mp:<name>:r:<caller> ◄── { r: ResultItem[] } ◄──  XADD + XACK + XDEL
 *  SET   mp:<name>:caller:<caller> (TTL: the caller is alive)
 *  PUBLISH mp:<name>:cancel  ──────────────────────────►  stops running tasks
 *  SADD  mp:<name>:x:<caller> (TTL: cancelled ids)    ──►  queued ones skipped
 * ```
 *
 * Payloads are V8 structured-clone bytes (`node:v8`), so arguments and
 * results cross as they do between local processes.
 *
 * @module
 */

import { deserialize, serialize } from "node:v8";
import type { Buffer } from "node:buffer";
import type { RemoteErrorInfo } from "../errors.ts";
import type { TaskMode } from "../_launch/protocol.ts";

/** The consumer group of worker hosts on the task stream. */
export const GROUP = "hosts";

/** Broker keys of one cluster `name`. */
export interface Keys {
  /** The task stream (consumer group {@linkcode GROUP}). */
  tasks: string;
  /** Pub/sub channel of cancellations. */
  cancel: string;
  /** Sorted set of live hosts (member `id:processes`, score: expiry ms). */
  hosts: string;
  /** A caller's result stream. */
  results(caller: string): string;
  /** Exists while the caller is alive. */
  caller(caller: string): string;
  /** Set of a caller's cancelled task ids. */
  cancelled(caller: string): string;
}

/**
 * The keys of cluster `name`.
 *
 * @param name The cluster name (the pool's or host's `name`).
 * @returns Its keys.
 */
export function keysOf(name: string): Keys {
  const p = `mp:${name}:`;
  return {
    tasks: `${p}tasks`,
    cancel: `${p}cancel`,
    hosts: `${p}hosts`,
    results: (c) => `${p}r:${c}`,
    caller: (c) => `${p}caller:${c}`,
    cancelled: (c) => `${p}x:${c}`,
  };
}

/**
 * How a task names its function: by module and export (`module` set), or
 * by source (run only by hosts started with `--allow-source`).
 */
export interface WireRef {
  /** The export's name ("" when anonymous). */
  name: string;
  /** The module's URL, as the caller sees it. */
  module?: string;
  /** The function's source, when no module exports it. */
  source?: string;
}

/** One task on the broker. */
export interface ClusterTask {
  /** Unique per caller. */
  id: number;
  /** The function. */
  ref: WireRef;
  /** The function's name, for messages. */
  label: string;
  /** How to apply it. */
  mode: TaskMode;
  /** Arguments, or the chunk of items. */
  args: unknown[];
  /** Keyword arguments. */
  kwargs?: Record<string, unknown>;
  /** Whether it may be cancelled (the host then checks before running). */
  cancellable: boolean;
}

/** One entry of the task stream: tasks of one caller. */
export interface TaskEntry {
  /** The caller's id. */
  caller: string;
  /** The caller's working directory as a `file:` URL ending in "/". */
  cwd: string;
  /** Visibility timeout, seconds. */
  vt: number;
  /** Host deaths after which the tasks fail with `WorkerLostError`. */
  maxDeaths: number;
  /** Seconds the caller's result stream lives after its last write. */
  expire: number;
  /** The tasks, run in order. */
  tasks: ClusterTask[];
}

/** How a task failed, as the caller should report it. */
export type FailKind = "threw" | "lost" | "refused";

/** A task's outcome. */
export type ResultItem =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; kind: FailKind; error: RemoteErrorInfo };

/** A cancellation: some tasks of a caller, or all of them. */
export interface CancelMessage {
  /** The caller's id. */
  caller: string;
  /** Task ids, or "all" (the pool was terminated). */
  ids: number[] | "all";
}

/**
 * Encodes a payload.
 *
 * @param value Any structured-cloneable value.
 * @returns Its bytes.
 */
export function encode(value: unknown): Buffer {
  return serialize(value);
}

/**
 * Decodes a payload.
 *
 * @param bytes What {@linkcode encode} made.
 * @returns The value.
 */
export function decode<T>(bytes: Uint8Array): T {
  return deserialize(bytes) as T;
}

/**
 * The fields of a stream entry (`[f1, v1, f2, v2…]`) as a map.
 *
 * @param fields The flat list Redis returns.
 * @returns Field name → value.
 */
export function fieldsOf(fields: unknown): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (!Array.isArray(fields)) return out;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    out.set(String(fields[i]), fields[i + 1]);
  }
  return out;
}
