/**
 * A worker host: takes tasks from the broker and runs them in a local
 * core `Pool`. The worker command (`../worker.ts`) runs one; so does a
 * broker `Pool` made with `processes > 0`.
 *
 * ```text
 *  XREADGROUP (at most 2 entries per local process in flight)
 *    ─► check: caller alive? task cancelled? (callers.ts)
 *       function allowed? (admit.ts)
 *    ─► local Pool (apply / map of the chunk, with the task's signal;
 *       execute.ts)
 *    ─► results of one turn: XADD r:<caller> + PEXPIRE, then XACK + XDEL
 *       (outbox.ts)
 *  every 250 ms: XCLAIM … JUSTID on the entries in hand (heartbeat: they
 *    stay ours), and XPENDING IDLE: entries idle past their visibility
 *    timeout are claimed (their host died); one claimed more than
 *    maxDeaths times fails with WorkerLostError instead
 *  SUBSCRIBE cancel: the local task's signal fires, the local pool
 *    replaces the worker that ran it
 * ```
 *
 * May import: the core `Pool` and errors, the other files of `_cluster/`
 * but `caller.ts` (which starts a host).
 *
 * @module
 */

import { Pool } from "../pool.ts";
import { TaskMode } from "../_launch/protocol.ts";
import type { StartMethod } from "../_common/start_method.ts";
import { settlesWithin } from "../_common/timer.ts";
import { Broker, ReadRetry, type TlsOptions } from "./broker.ts";
import { admit, parseEntry } from "./admit.ts";
import { dropDeadConsumers, findLost } from "./claims.ts";
import { CallerBook } from "./callers.ts";
import { failureOf, runOnPool } from "./execute.ts";
import { ResultOutbox } from "./outbox.ts";
import type { ClusterTask, FailKind, Keys, TaskEntry } from "./protocol.ts";
import { fieldsOf, GROUP, keysOf } from "./protocol.ts";

/** Seconds the task stream outlives its last user (renewed by use). */
export const STREAM_TTL = 3600;

/** What an entry of `apply` tasks counts against a host's capacity. */
const SMALL_WEIGHT = 1 / 16;

/** How long (ms) a host stopping gracefully waits for its tasks. */
const GRACE_MS = 10_000;

/** How often (ms) a host renews its claims and looks for lost tasks. */
const TICK_MS = 250;

/** How the local pool of a host runs tasks. */
export interface LocalPoolOptions {
  /** Start method of the local workers. */
  startMethod?: StartMethod;
  /** Permissions of `"subprocess"` workers. */
  permissions?: Deno.PermissionOptions;
  /** Tasks a local worker runs before it is replaced. */
  maxtasksperchild?: number | null;
}

/** What a host needs. */
export interface HostOptions {
  /** Broker URL. */
  broker: string;
  /** Seconds to keep trying an unreachable broker. */
  brokerTimeout: number;
  /** TLS settings of a `rediss://` broker. */
  tls?: TlsOptions;
  /** Cluster name. */
  name: string;
  /** Local worker processes. */
  processes: number;
  /** How they run. */
  local: LocalPoolOptions;
  /** URL prefixes modules must start with (after cwd mapping). */
  roots: string[];
  /** Whether functions shipped by source may run. */
  allowSource: boolean;
  /** A caller whose tasks skip both checks (the program hosting us). */
  trusted?: string;
  /** Where to report skipped entries and broker trouble. */
  log: (line: string) => void;
}

interface Held {
  entry: TaskEntry;
  left: number;
  weight: number;
}

/** A running worker host. */
export class HostRunner {
  #opts: HostOptions;
  #keys: Keys;
  #id: string;
  #cwd = `file://${Deno.cwd().replace(/\/?$/, "/")}`;
  #pool: Pool;
  #cmd: Broker;
  #reader: Broker;
  #sub: Broker;
  #held = new Map<string, Held>();
  #weight = 0;
  #reclaiming = false;
  #callers: CallerBook;
  #outbox: ResultOutbox;
  #stopping = false;
  #loop: Promise<void> = Promise.resolve();
  #tick: ReturnType<typeof setInterval> | undefined;
  #ticks = 0;
  #slotFreed: (() => void) | null = null;
  #failure: Error | null = null;

  private constructor(
    opts: HostOptions,
    cmd: Broker,
    reader: Broker,
    sub: Broker,
  ) {
    this.#opts = opts;
    this.#keys = keysOf(opts.name);
    this.#id = `${Deno.hostname()}-${Deno.pid}-${
      crypto.randomUUID().slice(0, 8)
    }`;
    this.#cmd = cmd;
    this.#reader = reader;
    this.#sub = sub;
    this.#callers = new CallerBook(
      cmd,
      this.#keys,
      (line) => opts.log(`worker host ${this.#id}: ${line}`),
    );
    this.#outbox = new ResultOutbox(cmd, this.#keys, (e) => this.#trouble(e));
    this.#pool = new Pool(opts.processes, {
      startMethod: opts.local.startMethod,
      permissions: opts.local.permissions,
      maxtasksperchild: opts.local.maxtasksperchild,
    });
  }

  /**
   * Connects and starts taking tasks.
   *
   * @param opts The host's settings.
   * @returns The running host.
   * @throws {BrokerError} When the broker cannot be reached.
   */
  static async start(opts: HostOptions): Promise<HostRunner> {
    const cmd = await Broker.connect(
      opts.broker,
      opts.brokerTimeout,
      opts.tls,
    );
    const conns: Broker[] = [cmd];
    try {
      conns.push(await cmd.duplicate());
      conns.push(await cmd.duplicate());
      const host = new HostRunner(opts, conns[0], conns[1], conns[2]);
      await host.#begin();
      return host;
    } catch (err) {
      for (const c of conns) c.destroy();
      throw err;
    }
  }

  async #begin(): Promise<void> {
    await this.#sub.subscribe(
      this.#keys.cancel,
      (m) => this.#callers.onCancel(m),
    );
    await this.#createGroup();
    await this.#register();
    this.#tick = setInterval(() => this.#onTick(), TICK_MS);
    this.#loop = this.#readLoop();
  }

  /** This host's consumer name on the task stream. */
  get id(): string {
    return this.#id;
  }

  /** Set when the broker was lost for good. */
  get failure(): Error | null {
    return this.#failure;
  }

  #createGroup(): Promise<void> {
    return this.#cmd.createGroup(this.#keys.tasks, GROUP);
  }

  /**
   * Says "alive" in the hosts' set. Like every key, the set and the task
   * stream get a time to live, renewed while anyone uses them, so a
   * cluster nobody runs any more leaves nothing behind.
   */
  #register(): Promise<unknown> {
    return Promise.all([
      this.#cmd.send([
        "ZADD",
        this.#keys.hosts,
        String(Date.now() + 5000),
        `${this.#id}:${this.#opts.processes}`,
      ]),
      this.#cmd.send(["PEXPIRE", this.#keys.hosts, "10000"]),
      this.#cmd.send(["EXPIRE", this.#keys.tasks, String(STREAM_TTL)]),
    ]);
  }

  /**
   * Entries a host holds at once, in units of a chunk: two per local
   * process, so the chunks of a map spread over the hosts. An entry of
   * small `apply` tasks weighs {@linkcode SMALL_WEIGHT}: a flood of them
   * needs many in hand to keep the local workers busy.
   */
  get #capacity(): number {
    return this.#opts.processes * 2;
  }

  async #readLoop(): Promise<void> {
    const retry = new ReadRetry(this.#opts);
    while (!this.#stopping) {
      const free = Math.floor(this.#capacity - this.#weight);
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.#slotFreed = resolve));
        continue;
      }
      let reply: unknown;
      try {
        reply = await this.#reader.sendRaw([
          "XREADGROUP",
          "GROUP",
          GROUP,
          this.#id,
          "COUNT",
          String(free),
          "BLOCK",
          "1000",
          "STREAMS",
          this.#keys.tasks,
          ">",
        ]);
      } catch (err) {
        if (this.#stopping) return;
        if (err instanceof Error && err.message.startsWith("NOGROUP")) {
          // The stream expired (nobody used it for a long time).
          await this.#createGroup().catch(() => {});
          continue;
        }
        // The link dropped: node-redis reconnects, then reading goes on.
        const lost = await retry.failed(err, this.#reader);
        if (lost === null) continue;
        return this.#fail(lost);
      }
      retry.answered();
      if (!Array.isArray(reply)) continue;
      for (const [, entries] of reply as [unknown, [unknown, unknown][]][]) {
        for (const [rawId, fields] of entries) {
          this.#take(String(rawId), fields, 1);
        }
      }
    }
  }

  /** Decodes an entry and runs it (or skips it). */
  #take(id: string, fields: unknown, delivered: number): void {
    const entry = parseEntry(fieldsOf(fields).get("e"));
    if (typeof entry === "string") {
      this.#opts.log(
        `worker host ${this.#id}: skipping malformed entry ${id} on ${this.#keys.tasks}: ${entry}`,
      );
      this.#outbox.ack(id);
      return;
    }
    const small = entry.tasks.length > 1 ||
      entry.tasks[0]?.mode === TaskMode.Apply;
    const held: Held = {
      entry,
      left: entry.tasks.length,
      weight: small ? SMALL_WEIGHT : 1,
    };
    this.#held.set(id, held);
    this.#weight += held.weight;
    if (delivered - 1 >= entry.maxDeaths) {
      for (const t of entry.tasks) {
        this.#report(entry, id, held, t, "lost", {
          name: "WorkerLostError",
          message:
            `Cannot finish task '${t.label}': the worker hosts running it died ${
              delivered - 1
            } times (maxDeaths ${entry.maxDeaths}); it is not tried again`,
        });
      }
      return;
    }
    // Register before checking, so a cancellation published after the
    // check reaches the running task (see the caller's #sendCancel).
    const callers = this.#callers;
    const signals = entry.tasks.map((t) => callers.start(entry.caller, t.id));
    callers.check(entry).then((skip) => {
      entry.tasks.forEach((t, i) => {
        if (skip === "all" || skip.has(t.id)) {
          callers.end(entry.caller, t.id);
          this.#done(id, held);
        } else {
          this.#run(id, held, t, signals[i]);
        }
      });
    }, (err) => {
      // Not checked: leave the entry to be claimed again.
      this.#held.delete(id);
      this.#weight -= held.weight;
      for (const t of entry.tasks) callers.end(entry.caller, t.id);
      this.#trouble(err);
    });
  }

  #run(id: string, held: Held, t: ClusterTask, signal: AbortSignal): void {
    const entry = held.entry;
    const target = admit(entry, t, {
      cwd: this.#cwd,
      roots: this.#opts.roots,
      allowSource: this.#opts.allowSource ||
        entry.caller === this.#opts.trusted,
      anyModule: entry.caller === this.#opts.trusted,
    });
    if (typeof target === "string") {
      this.#callers.end(entry.caller, t.id);
      this.#report(entry, id, held, t, "refused", {
        name: "Error",
        message: target,
      });
      return;
    }
    runOnPool(this.#pool, target, t, entry.tasks.length, signal).then(
      (value) => this.#report(entry, id, held, t, null, value),
      (err) => {
        if (signal.aborted) {
          // Cancelled by its caller, who has already settled it.
          this.#callers.end(entry.caller, t.id);
          this.#done(id, held);
        } else {
          this.#report(entry, id, held, t, ...failureOf(err));
        }
      },
    );
  }

  #report(
    entry: TaskEntry,
    id: string,
    held: Held,
    t: ClusterTask,
    kind: FailKind | null,
    value: unknown,
  ): void {
    this.#callers.end(entry.caller, t.id);
    this.#outbox.add(entry, t.id, kind, value);
    this.#done(id, held);
  }

  /** One task of entry `id` is finished; the entry is acked with its last. */
  #done(id: string, held: Held): void {
    if (--held.left > 0) return;
    if (this.#held.get(id) === held) {
      this.#held.delete(id);
      this.#weight -= held.weight;
    }
    this.#outbox.ack(id);
    const wake = this.#slotFreed;
    this.#slotFreed = null;
    wake?.();
  }

  #onTick(): void {
    if (this.#stopping) return;
    if (++this.#ticks % 4 === 0) this.#register().catch(() => {});
    if (this.#ticks % 240 === 0) {
      this.#callers.prune();
      dropDeadConsumers(this.#cmd, this.#keys.tasks).catch((err) =>
        this.#trouble(err)
      );
    }
    const held = [...this.#held.keys()];
    if (held.length > 0) {
      // Heartbeat: claiming our own entries again resets their idle time
      // (JUSTID does not count it as a delivery).
      this.#cmd.send([
        "XCLAIM",
        this.#keys.tasks,
        GROUP,
        this.#id,
        "0",
        ...held,
        "JUSTID",
      ]).catch(() => {});
    }
    {
      this.#reclaim().catch((err) => this.#trouble(err));
    }
  }

  /** Claims entries whose host stopped renewing them. */
  async #reclaim(): Promise<void> {
    if (this.#reclaiming) return;
    this.#reclaiming = true;
    try {
      const lost = findLost(this.#cmd, this.#keys.tasks, this.#id, {
        held: (id) => this.#held.has(id),
        // Claimed even when busy (up to twice the capacity): the tasks of
        // a dead host must not wait for the end of a long map.
        room: () => !this.#stopping && this.#weight < 2 * this.#capacity,
      });
      for await (const { id, fields, delivered } of lost) {
        this.#take(id, fields, delivered);
      }
    } finally {
      this.#reclaiming = false;
    }
  }

  /** A command failed: fatal once the broker is given up on. */
  #trouble(err: unknown): void {
    if (this.#stopping) return;
    const lost = this.#cmd.failure;
    if (lost !== null) this.#fail(lost);
    else {
      this.#opts.log(
        `worker host ${this.#id}: broker command failed: ${
          err instanceof Error ? err.message : String(err)
        }`,
      );
    }
  }

  #fail(err: unknown): void {
    if (this.#stopping) return;
    this.#failure = err instanceof Error ? err : new Error(String(err));
    this.#opts.log(
      `worker host ${this.#id}: ${this.#failure.message}; stopping`,
    );
    this.stop(false);
  }

  /**
   * Keeps the program alive (or not) while the host waits for work.
   *
   * @param on Whether to.
   */
  setRef(on: boolean): void {
    for (const b of [this.#cmd, this.#reader, this.#sub]) {
      on ? b.ref() : b.unref();
    }
    if (this.#tick !== undefined) {
      on ? Deno.refTimer(this.#tick) : Deno.unrefTimer(this.#tick);
    }
  }

  #stopped: Promise<void> | null = null;
  #ended = Promise.withResolvers<void>();

  /** Settles once the host has stopped (by `stop()` or a lost broker). */
  get done(): Promise<void> {
    return this.#ended.promise;
  }

  /**
   * Stops taking tasks. Graceful: finishes the tasks in hand and reports
   * them first; otherwise they are left for other hosts to claim.
   *
   * @param graceful Whether to finish the tasks in hand.
   */
  stop(graceful: boolean): Promise<void> {
    if (this.#stopped !== null) return this.#stopped;
    this.#stopping = true;
    this.#stopped = (async () => {
      this.#reader.destroy();
      this.#slotFreed?.();
      await this.#loop;
      let finished = !graceful;
      if (graceful) {
        this.#pool.close();
        finished = await settlesWithin(this.#pool.join(), GRACE_MS);
        if (this.#outbox.scheduled) {
          await new Promise((r) => setTimeout(r, 0));
        }
      }
      if (!finished) {
        // Tasks still in hand are left to the other hosts (visibility
        // timeout).
        this.#pool.terminate();
        await this.#pool.join();
      }
      clearInterval(this.#tick);
      await this.#cmd.send([
        "ZREM",
        this.#keys.hosts,
        `${this.#id}:${this.#opts.processes}`,
      ]).catch(() => {});
      this.#sub.destroy();
      if (this.#cmd.failure === null) await this.#cmd.close();
      else this.#cmd.destroy();
      this.#ended.resolve();
    })();
    return this.#stopped;
  }
}
