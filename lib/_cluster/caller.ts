/**
 * The caller's side of the broker pool: the engine `./cluster`'s `Pool`
 * runs on (see `../_pool/interface.ts`). It sends tasks to the task stream,
 * reads its own result stream, and settles each task once.
 *
 * ```text
 *  submit() ─► outbox ─ flush (one turn's tasks, pipelined) ─► XADD tasks
 *  read loop: XREAD BLOCK on mp:<name>:r:<me> ─► settle by task id
 *             (a task re-run after a host died reports twice: the second
 *             report finds nothing pending and is dropped)
 *  heartbeat: SET mp:<name>:caller:<me> PX expire (hosts skip the tasks of
 *             a caller whose key is gone; its streams expire)
 * ```
 *
 * May import: the core's errors and protocol, `./broker.ts`,
 * `./protocol.ts`, `./host.ts`.
 *
 * @module
 */

import { ProcessError, WorkerLostError } from "../errors.ts";
import { type FunctionRef, TaskMode } from "../_launch/protocol.ts";
import type { Engine, PoolStats, TaskSpec } from "../_pool/interface.ts";
import { Ledger } from "../_pool/ledger.ts";
import type { Buffer } from "node:buffer";
import { Broker, BrokerError, ReadRetry, type TlsOptions } from "./broker.ts";
import {
  type ClusterTask,
  decode,
  encode,
  fieldsOf,
  GROUP,
  type Keys,
  keysOf,
  type ResultItem,
  type TaskEntry,
  type WireRef,
} from "./protocol.ts";
import { HostRunner, type LocalPoolOptions, STREAM_TTL } from "./host.ts";

/** Tasks of `apply` calls travelling in one stream entry, at most. */
const ENTRY_TASKS = 32;

/** What the caller engine needs. */
interface CallerOptions {
  /** Broker URL. */
  broker: string;
  /** Cluster name. */
  name: string;
  /** Local worker processes this program adds (0: none). */
  processes: number;
  /** Seconds a taken task may go without a heartbeat before re-claim. */
  visibilityTimeout: number;
  /** Host deaths after which a task fails with `WorkerLostError`. */
  maxDeaths: number;
  /** Seconds this caller's streams outlive its last sign of life. */
  expire: number;
  /** Seconds to keep trying an unreachable broker. */
  brokerTimeout: number;
  /** How the local worker processes run. */
  local: LocalPoolOptions;
  /** TLS settings of a `rediss://` broker. */
  tls?: TlsOptions;
}

interface Pending {
  id: number;
  spec: TaskSpec;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  settled: boolean;
  sent: boolean;
  cleanup: (() => void) | null;
}

/** The engine of a broker-backed pool. */
export class CallerEngine implements Engine {
  #opts: CallerOptions;
  #id = crypto.randomUUID();
  #keys: Keys;
  #cwd = `file://${Deno.cwd().replace(/\/?$/, "/")}`;
  #ready: Promise<void> | null = null;
  #cmd: Broker | null = null;
  #reader: Broker | null = null;
  #host: HostRunner | null = null;
  #pending = new Map<number, Pending>();
  #outbox: Pending[] = [];
  #flushing: Promise<void> = Promise.resolve();
  #flushScheduled = false;
  #refs = new Map<number, Promise<WireRef>>();
  #nextId = 1;
  #ledger = new Ledger<Pending>(
    "it was stopped on its worker host",
    (task, reason) => this.#cancel(task, reason),
    (busy) => this.#setRef(busy),
  );
  #workers = 0;
  #broken: Error | null = null;
  #closed = false;
  #stopped = false;
  #stopping: Promise<void> | null = null;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #lastResult = "0-0";
  #reading: Promise<void> = Promise.resolve();
  #hasRef = true;

  /**
   * Makes the engine; it connects with the first task.
   *
   * @param opts What to connect to and how tasks travel.
   */
  constructor(opts: CallerOptions) {
    this.#opts = opts;
    this.#keys = keysOf(opts.name);
  }

  #start(): Promise<void> {
    if (this.#ready === null) {
      this.#ready = this.#connect();
      this.#ready.catch((err) => this.#break(err));
    }
    return this.#ready;
  }

  async #connect(): Promise<void> {
    const cmd = await Broker.connect(
      this.#opts.broker,
      this.#opts.brokerTimeout,
      this.#opts.tls,
    );
    this.#cmd = cmd;
    if (this.#stopped) {
      cmd.destroy();
      return;
    }
    const reader = await cmd.duplicate();
    this.#reader = reader;
    if (this.#stopped) {
      reader.destroy();
      cmd.destroy();
      return;
    }
    await cmd.createGroup(this.#keys.tasks, GROUP);
    await this.#beat();
    this.#heartbeat = setInterval(
      () => this.#beat().catch((err) => this.#break(err)),
      Math.max(250, (this.#opts.expire * 1000) / 4),
    );
    if (this.#opts.processes > 0) {
      this.#host = await HostRunner.start({
        broker: this.#opts.broker,
        brokerTimeout: this.#opts.brokerTimeout,
        tls: this.#opts.tls,
        name: this.#opts.name,
        processes: this.#opts.processes,
        local: this.#opts.local,
        roots: [this.#cwd],
        allowSource: false,
        trusted: this.#id,
        log: (line) => console.error(line),
      });
    }
    this.#reading = this.#readLoop();
    this.#setRef(this.#pending.size > 0);
  }

  /** Says "alive" and learns how many worker processes the cluster has. */
  async #beat(): Promise<void> {
    const cmd = this.#cmd!;
    const ttl = String(Math.ceil(this.#opts.expire * 1000));
    const now = Date.now();
    const [, , , hosts] = await Promise.all([
      cmd.send(["SET", this.#keys.caller(this.#id), "1", "PX", ttl]),
      cmd.send(["PEXPIRE", this.#keys.results(this.#id), ttl]),
      cmd.send(["ZREMRANGEBYSCORE", this.#keys.hosts, "-inf", String(now)]),
      cmd.send(["ZRANGEBYSCORE", this.#keys.hosts, String(now), "+inf"]),
    ]);
    let workers = 0;
    for (const m of hosts as string[]) {
      workers += Number(m.slice(m.lastIndexOf(":") + 1)) || 0;
    }
    this.#workers = workers;
  }

  submit(spec: TaskSpec): Promise<unknown> {
    if (this.#broken) return Promise.reject(this.#broken);
    this.#start();
    return new Promise((resolve, reject) => {
      const task: Pending = {
        id: this.#nextId++,
        spec,
        resolve,
        reject,
        settled: false,
        sent: false,
        cleanup: null,
      };
      if (!this.#ledger.open(task)) return;
      this.#pending.set(task.id, task);
      this.#outbox.push(task);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        // Gathers every task submitted in this turn into one pipeline.
        queueMicrotask(() => {
          this.#flushScheduled = false;
          const batch = this.#outbox;
          this.#outbox = [];
          this.#flushing = this.#flushing.then(() => this.#flush(batch));
        });
      }
    });
  }

  /** Drops a queued task on the hosts, stops a running one. */
  #cancel(task: Pending, reason: unknown): void {
    if (task.settled) return;
    const sent = task.sent;
    this.#settle(task, false, reason);
    if (sent && this.#cmd !== null && !this.#stopped) {
      this.#sendCancel([task.id]);
    }
  }

  #sendCancel(ids: number[] | "all"): void {
    const cmd = this.#cmd!;
    const set = this.#keys.cancelled(this.#id);
    const ops: Promise<unknown>[] = [];
    if (ids !== "all") {
      // The set first: a host that takes the task later skips it; one
      // that runs it already hears the message.
      ops.push(cmd.send(["SADD", set, ...ids.map(String)]));
      ops.push(cmd.send(["PEXPIRE", set, String(this.#opts.expire * 1000)]));
    }
    ops.push(
      cmd.send([
        "PUBLISH",
        this.#keys.cancel,
        JSON.stringify({ caller: this.#id, ids }),
      ]),
    );
    Promise.all(ops).catch(() => {});
  }

  #settle(task: Pending, ok: boolean, value: unknown): void {
    if (this.#ledger.settle(task, ok, value)) this.#pending.delete(task.id);
  }

  async #flush(batch: Pending[]): Promise<void> {
    try {
      await this.#start();
    } catch {
      return; // #break rejected them.
    }
    if (this.#stopped) return;
    const entries: ClusterTask[][] = [];
    let group: ClusterTask[] = [];
    for (const task of batch) {
      if (task.settled) continue;
      let ref: WireRef;
      try {
        ref = await this.#wireRef(task.spec);
      } catch (err) {
        this.#settle(task, false, err);
        continue;
      }
      const wire: ClusterTask = {
        id: task.id,
        ref,
        label: task.spec.label,
        mode: task.spec.mode,
        // A map chunk of numbers comes packed (`_common/columns.ts`).
        args: Array.isArray(task.spec.args)
          ? task.spec.args
          : Array.from(task.spec.args),
        kwargs: task.spec.kwargs,
        cancellable: task.spec.signal !== undefined ||
          task.spec.timeout !== undefined,
      };
      // A chunk of a map, or a task that may be cancelled, travels alone:
      // chunks spread over hosts, and stopping a task stops no other.
      if (wire.mode !== TaskMode.Apply || wire.cancellable) {
        entries.push([wire]);
      } else {
        group.push(wire);
        if (group.length === ENTRY_TASKS) {
          entries.push(group);
          group = [];
        }
      }
    }
    if (group.length > 0) entries.push(group);
    const cmd = this.#cmd!;
    const sends: Promise<unknown>[] = [];
    for (const tasks of entries) {
      const bytes = this.#encodeEntry(tasks);
      if (bytes === null) continue;
      for (const t of tasks) this.#pending.get(t.id)!.sent = true;
      sends.push(cmd.send(["XADD", this.#keys.tasks, "*", "e", bytes]));
    }
    if (sends.length === 0) return;
    // The task stream lives while anyone uses it (see README "Many
    // machines": nothing stays behind for ever).
    sends.push(
      cmd.send([
        "EXPIRE",
        this.#keys.tasks,
        String(Math.max(STREAM_TTL, this.#opts.expire * 10)),
      ]),
    );
    try {
      await Promise.all(sends);
    } catch (err) {
      this.#break(err);
    }
  }

  #encodeEntry(tasks: ClusterTask[]): Buffer | null {
    const entry: TaskEntry = {
      caller: this.#id,
      cwd: this.#cwd,
      vt: this.#opts.visibilityTimeout,
      maxDeaths: this.#opts.maxDeaths,
      expire: this.#opts.expire,
      tasks,
    };
    try {
      return encode(entry);
    } catch {
      // Find the culprit; the others go on.
      const ok = tasks.filter((t) => {
        try {
          encode(t.args);
          encode(t.kwargs);
          return true;
        } catch (err) {
          this.#settle(this.#pending.get(t.id)!, false, cloneError(t, err));
          return false;
        }
      });
      return ok.length === 0 ? null : this.#encodeEntry(ok);
    }
  }

  /**
   * How the hosts find `spec.fn`: the module that exports it under its
   * name (checked here, by source, as a local worker would), else its
   * source.
   */
  #wireRef(spec: TaskSpec): Promise<WireRef> {
    let hit = this.#refs.get(spec.fnKey);
    if (hit === undefined) {
      hit = findExport(spec.fn);
      this.#refs.set(spec.fnKey, hit);
    }
    return hit;
  }

  async #readLoop(): Promise<void> {
    const reader = this.#reader!;
    const key = this.#keys.results(this.#id);
    const retry = new ReadRetry(this.#opts);
    while (!this.#stopped) {
      let reply: unknown;
      try {
        reply = await reader.sendRaw([
          "XREAD",
          "COUNT",
          "1024",
          "BLOCK",
          "1000",
          "STREAMS",
          key,
          this.#lastResult,
        ]);
      } catch (err) {
        if (this.#stopped) return;
        // The link dropped: node-redis reconnects (for up to
        // brokerTimeout seconds), then this read goes on.
        const lost = await retry.failed(err, reader, this.#cmd);
        if (lost === null) continue;
        return this.#break(lost);
      }
      retry.answered();
      if (!Array.isArray(reply) || reply.length === 0) continue;
      const ids: string[] = [];
      for (const [, entries] of reply as [unknown, [unknown, unknown][]][]) {
        for (const [rawId, fields] of entries) {
          const id = String(rawId);
          ids.push(id);
          this.#lastResult = id;
          const bytes = fieldsOf(fields).get("r");
          if (!(bytes instanceof Uint8Array)) continue;
          let items: ResultItem[];
          try {
            items = decode<ResultItem[]>(bytes);
          } catch {
            continue;
          }
          for (const item of items) this.#onResult(item);
        }
      }
      this.#cmd!.send(["XDEL", key, ...ids]).catch(() => {});
    }
  }

  #onResult(item: ResultItem): void {
    const task = this.#pending.get(item.id);
    // A duplicate (the task ran again after its host was thought dead).
    if (task === undefined || task.settled) return;
    if (item.ok) {
      this.#settle(task, true, item.value);
    } else if (item.kind === "threw") {
      this.#settle(task, false, new ProcessError(item.error, task.spec.label));
    } else if (item.kind === "lost") {
      this.#settle(task, false, new WorkerLostError(item.error.message));
    } else {
      this.#settle(task, false, new Error(item.error.message));
    }
  }

  #setRef(on: boolean): void {
    if (on === this.#hasRef) return;
    this.#hasRef = on;
    // An idle pool does not keep the program alive, as a local one.
    for (const b of [this.#cmd, this.#reader]) on ? b?.ref() : b?.unref();
    if (this.#heartbeat !== undefined) {
      on ? Deno.refTimer(this.#heartbeat) : Deno.unrefTimer(this.#heartbeat);
    }
    this.#host?.setRef(on);
  }

  #break(err: unknown): void {
    if (this.#broken !== null || this.#stopped) return;
    this.#broken = err instanceof Error ? err : new BrokerError(String(err));
    for (const t of [...this.#pending.values()]) {
      this.#settle(t, false, this.#broken);
    }
    this.#stop(false);
  }

  close(): void {
    this.#closed = true;
  }

  terminate(err: Error): void {
    this.#closed = true;
    if (this.#stopped) return;
    const sent = [...this.#pending.values()].some((t) => t.sent);
    for (const t of [...this.#pending.values()]) this.#settle(t, false, err);
    if (sent && this.#cmd !== null) {
      this.#cmd.send(["DEL", this.#keys.caller(this.#id)]).catch(() => {});
      this.#sendCancel("all");
    }
    this.#stop(false);
  }

  async join(): Promise<void> {
    await this.#ledger.drained();
    await this.#stop(true);
  }

  /** Leaves the broker: removes this caller's keys, closes connections. */
  #stop(graceful: boolean): Promise<void> {
    if (this.#stopping !== null) return this.#stopping;
    this.#stopped = true;
    clearInterval(this.#heartbeat);
    this.#stopping = (async () => {
      try {
        await this.#ready;
      } catch {
        // Could not connect: nothing to leave.
      }
      await this.#host?.stop(graceful);
      this.#reader?.destroy();
      await this.#reading;
      const cmd = this.#cmd;
      if (cmd !== null && cmd.failure === null) {
        await Promise.all([
          cmd.send(["DEL", this.#keys.caller(this.#id)]),
          cmd.send(["DEL", this.#keys.results(this.#id)]),
          cmd.send(["DEL", this.#keys.cancelled(this.#id)]),
        ]).catch(() => {});
        await cmd.close();
      } else {
        cmd?.destroy();
      }
    })();
    return this.#stopping;
  }

  get broken(): Error | null {
    return this.#broken;
  }

  stats(): PoolStats {
    let queued = 0;
    let running = 0;
    for (const t of this.#pending.values()) t.sent ? running++ : queued++;
    return {
      queued,
      running,
      done: this.#ledger.done,
      failed: this.#ledger.failed,
      workers: Math.max(this.#workers, this.#opts.processes),
      // Remote hosts' workers are not tracked one by one.
      stopping: 0,
    };
  }
}

async function findExport(fn: FunctionRef): Promise<WireRef> {
  if (fn.byName) return { name: fn.name, module: fn.modules[0] };
  if (fn.name !== "") {
    for (const url of fn.modules) {
      try {
        const mod = await import(url);
        const candidate = mod[fn.name];
        if (
          typeof candidate === "function" &&
          Function.prototype.toString.call(candidate) === fn.source
        ) {
          return { name: fn.name, module: url };
        }
      } catch {
        // Not importable here: try the next.
      }
    }
  }
  return { name: fn.name, source: fn.source };
}

function cloneError(task: ClusterTask, err: unknown): TypeError {
  return new TypeError(
    `Cannot send task '${task.label}' to the broker: ${
      err instanceof Error ? err.message : String(err)
    }; pass structured-cloneable values (functions, class instances with private state and sockets cannot cross)`,
    { cause: err },
  );
}
