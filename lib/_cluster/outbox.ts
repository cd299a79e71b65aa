/**
 * What a worker host writes back to the broker: the results finished in
 * one turn of the event loop travel in one stream entry per caller
 * (`XADD r:<caller>` + `PEXPIRE`), then the entries they finished are
 * acknowledged and deleted (`XACK` + `XDEL`), in one pipeline.
 *
 * May import: `./broker.ts`, `./protocol.ts`, the core errors and protocol.
 *
 * @module
 */

import type { Buffer } from "node:buffer";
import { toRemoteError } from "../_launch/protocol.ts";
import type { Broker } from "./broker.ts";
import type { RemoteErrorInfo } from "../errors.ts";
import {
  encode,
  type FailKind,
  GROUP,
  type Keys,
  type ResultItem,
  type TaskEntry,
} from "./protocol.ts";

/** A host's results and acknowledgements, waiting for the end of the turn. */
export class ResultOutbox {
  #cmd: Broker;
  #keys: Keys;
  #onError: (err: unknown) => void;
  #results = new Map<string, { items: ResultItem[]; expire: number }>();
  #acks: string[] = [];
  #scheduled = false;

  /**
   * Makes the outbox of one host.
   *
   * @param cmd The host's command connection.
   * @param keys The cluster's keys.
   * @param onError Told when a write fails (its entries stay pending and
   *   are claimed again after their visibility timeout).
   */
  constructor(cmd: Broker, keys: Keys, onError: (err: unknown) => void) {
    this.#cmd = cmd;
    this.#keys = keys;
    this.#onError = onError;
  }

  /** Whether a write is due at the end of this turn. */
  get scheduled(): boolean {
    return this.#scheduled;
  }

  /**
   * Adds a task's result for its caller.
   *
   * @param entry The entry the task came in (its caller, and how long the
   *   caller's result stream outlives it).
   * @param id The task's id.
   * @param kind How it failed, or `null`: it returned `value`.
   * @param value What it returned, or the error to send.
   */
  add(
    entry: Pick<TaskEntry, "caller" | "expire">,
    id: number,
    kind: FailKind | null,
    value: unknown,
  ): void {
    const item: ResultItem = kind === null
      ? { id, ok: true, value }
      : { id, ok: false, kind, error: value as RemoteErrorInfo };
    let out = this.#results.get(entry.caller);
    if (out === undefined) {
      out = { items: [], expire: entry.expire };
      this.#results.set(entry.caller, out);
    }
    out.items.push(item);
  }

  /**
   * Acknowledges a finished (or skipped) task stream entry, after the
   * results added so far.
   *
   * @param id The entry's id.
   */
  ack(id: string): void {
    this.#acks.push(id);
    if (this.#scheduled) return;
    this.#scheduled = true;
    // Results finished in one turn travel in one entry per caller.
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    const cmd = this.#cmd;
    const ops: Promise<unknown>[] = [];
    for (const [caller, out] of this.#results) {
      const key = this.#keys.results(caller);
      let bytes: Buffer;
      try {
        bytes = encode(out.items);
      } catch {
        bytes = encode(out.items.map((it) => cloneable(it)));
      }
      // Results before acks: a host that dies between them leaves its
      // tasks to run again, and the caller drops the duplicates.
      ops.push(cmd.send(["XADD", key, "*", "r", bytes]));
      ops.push(cmd.send(["PEXPIRE", key, String(out.expire * 1000)]));
    }
    this.#results.clear();
    if (this.#acks.length > 0) {
      ops.push(cmd.send(["XACK", this.#keys.tasks, GROUP, ...this.#acks]));
      ops.push(cmd.send(["XDEL", this.#keys.tasks, ...this.#acks]));
      this.#acks = [];
    }
    // Results not written leave their entries pending: they are claimed
    // again after their visibility timeout (by this host too).
    Promise.all(ops).catch(this.#onError);
  }
}

/** A result that can be encoded: an uncloneable value becomes an error. */
function cloneable(item: ResultItem): ResultItem {
  try {
    encode(item);
    return item;
  } catch (err) {
    return {
      id: item.id,
      ok: false,
      kind: "threw",
      error: toRemoteError(
        new TypeError(
          `Cannot send the result back: ${
            err instanceof Error ? err.message : String(err)
          }; return structured-cloneable values`,
        ),
      ),
    };
  }
}
