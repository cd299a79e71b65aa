/**
 * Starting and stopping a manager's server thread (see
 * `_manager/worker.ts`), from the process that owns the manager.
 *
 * The thread is unref'd while it serves, so a program that forgets
 * `shutdown()` still ends when its main module is done (as Python's
 * manager process ends with its parent).
 *
 * Used only where this program may not run `deno` (no `--allow-run`):
 * otherwise the server is a process (`_manager/child.ts`), because a
 * thread that runs out of memory takes the whole program down.
 *
 * @module
 */

import { Worker as NodeWorker } from "node:worker_threads";
import type { ServerOptions } from "./server.ts";
import type { Address } from "./wire.ts";
import { checkCanStart, threadEntry } from "../_launch/entry.ts";
import { settlesWithin } from "../_common/timer.ts";

const ENTRY = threadEntry(new URL("./worker.ts", import.meta.url));

type FromServer =
  | { t: "ready"; address: Address }
  | { t: "error"; name: string; message: string }
  | { t: "closed" };

/** A running server thread. */
export class ServerThread {
  #worker: NodeWorker;
  #exited: Promise<void>;
  #stopping: Promise<void> | undefined;
  /** The address the server listens on. */
  readonly address: Address;

  private constructor(worker: NodeWorker, exited: Promise<void>, a: Address) {
    this.#worker = worker;
    this.#exited = exited;
    this.address = a;
  }

  /**
   * Starts a server thread and waits until it listens.
   *
   * @param options The server's options.
   * @returns The thread.
   * @throws {Deno.errors.AddrInUse|Deno.errors.NotCapable|Error} When the
   * server cannot listen.
   */
  static async start(options: ServerOptions): Promise<ServerThread> {
    checkCanStart(
      "manager",
      `start the manager at '${options.hostname}:${options.port}'`,
      options,
    );
    const worker = new NodeWorker(ENTRY, { workerData: options });
    const exited = new Promise<void>((resolve) => {
      worker.once("exit", () => resolve());
    });
    const first = await new Promise<FromServer | null>((resolve) => {
      worker.once("message", (m: FromServer) => resolve(m));
      worker.once("error", () => resolve(null));
      exited.then(() => resolve(null));
    });
    if (first?.t === "ready") {
      worker.unref();
      return new ServerThread(worker, exited, first.address);
    }
    await worker.terminate();
    await exited;
    const where = `${options.hostname}:${options.port}`;
    if (first?.t === "error") {
      const C = (Deno.errors as unknown as Record<string, ErrorConstructor>)[
        first.name
      ] ??
        Error;
      throw new C(
        `Cannot start the manager at '${where}': ${first.message}`,
      );
    }
    throw new Error(
      `Cannot start the manager at '${where}': its thread ended before it listened`,
    );
  }

  /** Resolves when the thread has ended; keeps the program alive until then. */
  async ended(): Promise<void> {
    this.#worker.ref();
    await this.#exited;
  }

  /** Closes the server (ending its connections) and ends the thread. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#worker.ref();
    const closed = new Promise<void>((resolve) => {
      const onMessage = (m: FromServer) => {
        if (m.t === "closed") resolve();
      };
      this.#worker.on("message", onMessage);
      this.#exited.then(() => resolve());
    });
    // The server closes its connections (clients see the end at once);
    // give it a moment, then stop the thread regardless.
    try {
      this.#worker.postMessage({ t: "shutdown" });
      await settlesWithin(closed, 2000);
    } catch {
      // The thread is already gone.
    }
    await this.#worker.terminate();
    await this.#exited;
  }
}
