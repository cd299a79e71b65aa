/**
 * What a worker host knows of the callers whose tasks it runs: which of
 * their tasks run here (each with an `AbortController` the caller's
 * cancellation fires), which callers are alive (seen recently, so an entry
 * costs no round trip) and which have terminated (their tasks are
 * skipped).
 *
 * ```text
 *  an entry arrives ─► start() each task ─► check(): caller alive? ids
 *    cancelled? (EXISTS caller:<c>, SMISMEMBER x:<c>) ─► skip or run
 *  SUBSCRIBE cancel ─► onCancel(): abort the named tasks, or all of a
 *    caller that terminated
 * ```
 *
 * May import: `./broker.ts`, `./protocol.ts`.
 *
 * @module
 */

import type { Broker } from "./broker.ts";
import type { CancelMessage, Keys, TaskEntry } from "./protocol.ts";

/** A host's book of callers and of their tasks running here. */
export class CallerBook {
  #cmd: Broker;
  #keys: Keys;
  #log: (line: string) => void;
  #running = new Map<string, AbortController>();
  /** Caller → when last seen alive (ms); negated once it terminated. */
  #seen = new Map<string, number>();

  /**
   * Makes the book of one host.
   *
   * @param cmd The host's command connection.
   * @param keys The cluster's keys.
   * @param log Where to report a malformed cancel message.
   */
  constructor(cmd: Broker, keys: Keys, log: (line: string) => void) {
    this.#cmd = cmd;
    this.#keys = keys;
    this.#log = log;
  }

  /**
   * A task of `caller` is about to be checked and run: registered first,
   * so a cancellation published after the check reaches it (see the
   * caller's `#sendCancel`).
   *
   * @param caller The caller's id.
   * @param id The task's id.
   * @returns The signal its cancellation fires.
   */
  start(caller: string, id: number): AbortSignal {
    const ac = new AbortController();
    this.#running.set(`${caller}:${id}`, ac);
    return ac.signal;
  }

  /**
   * The task is over here (done, failed, skipped or refused).
   *
   * @param caller The caller's id.
   * @param id The task's id.
   */
  end(caller: string, id: number): void {
    this.#running.delete(`${caller}:${id}`);
  }

  /**
   * Which of the entry's tasks to skip: all of a dead caller's, the
   * cancelled ones.
   *
   * @param entry The entry taken.
   * @returns The ids to skip, or `"all"`.
   */
  async check(entry: TaskEntry): Promise<Set<number> | "all"> {
    const ids = entry.tasks.filter((t) => t.cancellable).map((t) =>
      String(t.id)
    );
    const skip = new Set<number>();
    const seen = this.#seen.get(entry.caller);
    const now = Date.now();
    if (seen !== undefined && seen < 0) return "all";
    // A caller seen alive within its key's lifetime is alive (a caller
    // that terminates says so on the cancel channel): one round trip
    // less for each entry.
    const fresh = seen !== undefined && now - seen < entry.expire * 250;
    if (fresh && ids.length === 0) return skip;
    const [alive, cancelled] = await Promise.all([
      fresh ? 1 : this.#cmd.send(["EXISTS", this.#keys.caller(entry.caller)]),
      ids.length === 0 ? [] : this.#cmd.send([
        "SMISMEMBER",
        this.#keys.cancelled(entry.caller),
        ...ids,
      ]),
    ]);
    if (Number(alive) === 0) return "all";
    if (!fresh) this.#seen.set(entry.caller, now);
    (cancelled as number[]).forEach((hit, i) => {
      if (Number(hit) === 1) skip.add(Number(ids[i]));
    });
    return skip;
  }

  /**
   * A message on the cancel channel: stops the tasks it names, or every
   * task of a caller that terminated.
   *
   * @param message The message as published.
   */
  onCancel(message: string): void {
    let msg: CancelMessage;
    try {
      msg = JSON.parse(message);
    } catch {
      this.#log("skipping malformed cancel message");
      return;
    }
    if (typeof msg?.caller !== "string") return;
    if (msg.ids === "all") {
      this.#seen.set(msg.caller, -Date.now());
      const prefix = `${msg.caller}:`;
      for (const [key, ac] of this.#running) {
        if (key.startsWith(prefix)) ac.abort(new Error("cancelled"));
      }
    } else if (Array.isArray(msg.ids)) {
      for (const id of msg.ids) {
        this.#running.get(`${msg.caller}:${id}`)?.abort(new Error("cancelled"));
      }
    }
  }

  /** Forgets callers not heard of for ten minutes. */
  prune(): void {
    const old = Date.now() - 600_000;
    for (const [caller, seen] of this.#seen) {
      if (Math.abs(seen) < old) this.#seen.delete(caller);
    }
  }
}
