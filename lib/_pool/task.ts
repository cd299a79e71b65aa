/**
 * A task in the local pool engine: what the caller submitted, encoded
 * once for the wire, and where it is (queued, or in flight on a worker).
 *
 * @module
 */

import { encodeShared } from "../_common/transfer.ts";
import { allPrimitive } from "../_common/columns.ts";
import { TaskMode, type WireTask } from "../_launch/protocol.ts";
import type { TaskSpec } from "./interface.ts";
import type { Entry } from "./ledger.ts";
import type { PoolWorker } from "./worker.ts";

/** One submitted task. */
export class Task implements Entry {
  /** Unique in its pool, > 0. */
  readonly id: number;
  /** The task as submitted. */
  readonly spec: TaskSpec;
  /**
   * The arguments, encoded (shared primitives as markers); a map chunk of
   * numbers as the bytes of its `Float64Array`, a chunk of other
   * primitives as it is (`_common/columns.ts`).
   */
  readonly wireArgs: unknown[] | SharedArrayBuffer;
  /** The keyword arguments, encoded. */
  readonly wireKwargs: Record<string, unknown> | undefined;
  /** Whether the encoded arguments hold shared primitives. */
  readonly shared: boolean;
  /** What `postMessage` transfers with it. */
  readonly transfer: Transferable[];
  /**
   * It travels alone, to an idle worker (it has a signal, a timeout or
   * transferables, or its batch was lost with a child that cannot say
   * which task it ran).
   */
  alone: boolean;
  /** Set once resolved or rejected. */
  settled = false;
  /** The worker it is in flight on, if any. */
  worker: PoolWorker | null = null;
  /** Stops watching its signal and timeout. */
  cleanup: (() => void) | null = null;
  /** Resolves the caller's promise. */
  readonly resolve: (value: unknown) => void;
  /** Rejects the caller's promise. */
  readonly reject: (err: unknown) => void;

  /**
   * Encodes a submitted task.
   *
   * @param id Its id.
   * @param spec What the caller submitted.
   * @param resolve Resolves the caller's promise.
   * @param reject Rejects the caller's promise.
   */
  constructor(
    id: number,
    spec: TaskSpec,
    resolve: (value: unknown) => void,
    reject: (err: unknown) => void,
  ) {
    this.id = id;
    this.spec = spec;
    this.resolve = resolve;
    this.reject = reject;
    const transfer = spec.transfer ? [...spec.transfer] : [];
    const args = spec.args;
    let wireArgs: unknown[] | SharedArrayBuffer;
    let shared = false;
    if (args instanceof Float64Array) {
      wireArgs = args.buffer;
    } else if (spec.mode === TaskMode.Map && allPrimitive(args)) {
      wireArgs = args;
    } else {
      wireArgs = encodeShared(args, transfer) as unknown[];
      shared = wireArgs !== args;
    }
    this.wireArgs = wireArgs;
    this.wireKwargs = encodeShared(spec.kwargs, transfer) as
      | Record<string, unknown>
      | undefined;
    this.shared = shared || this.wireKwargs !== spec.kwargs;
    this.transfer = transfer;
    this.alone = spec.signal !== undefined || spec.timeout !== undefined ||
      transfer.length > 0;
  }

  /**
   * The task as a run message carries it.
   *
   * @param withRef Whether to send the function's reference (the worker
   *   has not seen its key).
   * @returns The wire form.
   */
  toWire(withRef: boolean): WireTask {
    const w: WireTask = {
      id: this.id,
      fn: this.spec.fnKey,
      mode: this.spec.mode,
      args: this.wireArgs,
      kwargs: this.wireKwargs,
      shared: this.shared,
    };
    if (withRef) w.ref = this.spec.fn;
    return w;
  }
}
