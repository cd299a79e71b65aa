/**
 * A started `deno` child as its parent sees it (`"subprocess"` start
 * method): {@linkcode ChildThread} gives the parent the part of a
 * `node:worker_threads` Worker it drives (`ProcessThread`), over the
 * child's socket, plus `kill(signal)`, `pid` and the exit watch
 * `joinSync` uses. Every live child is tracked, so that the children end
 * when this program ends.
 *
 * @module
 */

import { EventEmitter } from "node:events";
import type { RunMessage } from "./protocol.ts";
import { checkNoSharedMemory } from "../_common/transfer.ts";
import { isServedRequest, type ServedPeer } from "../_served/host.ts";
import { ChildExitWatch } from "./child_wait.ts";
import { settlesWithin } from "../_common/timer.ts";
import type { ProcessThread } from "./launch.ts";
import { encodeFrame, type FrameChannel } from "./frames.ts";
import {
  acceptAuthed,
  type ChannelAddress,
  closeLocal,
  removeSocketDir,
} from "./sockets.ts";
import { answerServed, type SyncEndpoint } from "./child_served.ts";

/** Signal numbers by name: a child ended by one exits with `-number`. */
const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

/** How long (ms) after `terminate()` a child ignoring SIGTERM is killed. */
const TERMINATE_GRACE_MS = 3000;

/** The children alive now, ended with this program. */
const live = new Set<ChildThread>();
let hooked = false;
let sigtermListening = false;

function killAll(): void {
  for (const c of live) c.kill("SIGTERM");
}

function onSigterm(): void {
  killAll();
  Deno.exit(128 + 15);
}

/**
 * Ends the children when this program ends: on a normal end or
 * `Deno.exit` ("unload"), on an uncaught error, and on SIGTERM (while
 * children live). A parent killed outright (SIGKILL) cannot do this; its
 * children then see their stdin close and exit on their own.
 */
function track(child: ChildThread): void {
  live.add(child);
  if (!hooked) {
    hooked = true;
    globalThis.addEventListener("unload", () => {
      killAll();
      removeSocketDir();
    });
    globalThis.addEventListener("error", (e) => {
      if (!e.defaultPrevented) {
        killAll();
        removeSocketDir();
      }
    });
    globalThis.addEventListener("unhandledrejection", (e) => {
      if (!e.defaultPrevented) {
        killAll();
        removeSocketDir();
      }
    });
  }
  if (!sigtermListening) {
    try {
      Deno.addSignalListener("SIGTERM", onSigterm);
      sigtermListening = true;
    } catch {
      // No SIGTERM listeners on this platform (Windows).
    }
  }
}

function untrack(child: ChildThread): void {
  live.delete(child);
  if (live.size === 0 && sigtermListening) {
    sigtermListening = false;
    Deno.removeSignalListener("SIGTERM", onSigterm);
  }
}

/**
 * A `deno` child process, with the part of a `node:worker_threads`
 * Worker's interface the parent uses: `postMessage`, the "message",
 * "error" and "exit" events, `terminate()`, `ref()`/`unref()`, plus
 * `kill(signal)` and `pid`.
 */
export class ChildThread extends EventEmitter implements ProcessThread {
  /** The child's OS pid. */
  readonly pid: number;
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #listener: Deno.Listener | null;
  #address: ChannelAddress;
  #channel: FrameChannel | null = null;
  #queued: Uint8Array[] = [];
  #refed = true;
  #exited = false;
  #exit: Promise<number>;
  #killTimer: ReturnType<typeof setTimeout> | undefined;
  #peer: ServedPeer;
  #sync: SyncEndpoint;

  /**
   * Wraps a spawned child (use {@linkcode spawnChild}).
   *
   * @param child The child process.
   * @param listener Where the child connects.
   * @param address The listener's address, as the child is told it.
   * @param initFrame The first frame to send it.
   * @param peer What the parent serves the child.
   * @param sync The socket for the child's blocking served calls.
   */
  constructor(
    child: Deno.ChildProcess,
    listener: Deno.Listener,
    address: ChannelAddress,
    initFrame: Uint8Array,
    peer: ServedPeer,
    sync: SyncEndpoint,
  ) {
    super();
    this.#peer = peer;
    this.#sync = sync;
    this.pid = child.pid;
    this.#child = child;
    this.#listener = listener;
    const token = crypto.randomUUID();
    this.#stdin = child.stdin.getWriter();
    this.#address = address;
    this.#stdin.write(
      new TextEncoder().encode(`${JSON.stringify({ ...address, token })}\n`),
    ).catch(() => {
      // The child died at once; its status reports it.
    });
    void this.#accept(listener, token, initFrame);
    track(this);
    this.#exit = child.status.then((status) => this.#onStatus(status));
  }

  /** The child's pid (as `threadId`, for code written for workers). */
  get threadId(): number {
    return this.pid;
  }

  async #accept(
    listener: Deno.Listener,
    token: string,
    initFrame: Uint8Array,
  ): Promise<void> {
    const channel = await acceptAuthed(
      listener,
      token,
      () => this.#refed,
      (m, ch) => {
        if (isServedRequest(m)) void answerServed(this.#peer, m, ch);
        else this.emit("message", m);
      },
    );
    // The connection outlives its socket file.
    this.#closeListener();
    if (channel === null) return;
    this.#channel = channel;
    channel.send(initFrame);
    for (const f of this.#queued) channel.send(f);
    this.#queued = [];
  }

  #closeListener(): void {
    const l = this.#listener;
    if (l === null) return;
    this.#listener = null;
    closeLocal(l, this.#address);
  }

  async #onStatus(status: Deno.CommandStatus): Promise<number> {
    this.#exited = true;
    clearTimeout(this.#killTimer);
    untrack(this);
    this.#closeListener();
    this.#sync.close();
    this.#peer.end();
    const channel = this.#channel;
    if (channel !== null) {
      // Deliver what the child sent before it died (its last results):
      // its end of the socket is closed, so the read ends at once.
      await settlesWithin(channel.done, 1000).catch(() => {});
      channel.close();
    }
    // What the child sent last has been read: its handles can go.
    this.#peer.release();
    this.#stdin.close().catch(() => {
      // The pipe's reader is gone with the child.
    });
    const code = status.signal !== null
      ? -(SIGNALS[status.signal] ?? 128)
      : status.code;
    this.emit("exit", code);
    return code;
  }

  /**
   * Sends a message. ArrayBuffers in `transfer` are copied (no memory is
   * shared between processes) and then detached here, as a transfer would.
   *
   * @param message The message.
   * @param transfer ArrayBuffers to move.
   * @throws {TypeError} When it holds shared memory or a transfer other
   *   than an ArrayBuffer.
   * @throws {DOMException} `DataCloneError` when it cannot be cloned.
   */
  // deno-lint-ignore no-explicit-any
  postMessage(message: any, transfer?: any[]): void {
    let msg = message as RunMessage;
    if (msg?.t === "run") {
      if (
        msg.tasks.some((t) => t.shared || t.args instanceof SharedArrayBuffer)
      ) {
        // Primitives in the arguments become stand-ins served from here,
        // and a packed map chunk (`_common/columns.ts`) a copy of its
        // bytes; the message itself is left alone (a task may be sent
        // again, to a worker thread, after this child dies).
        msg = {
          ...msg,
          tasks: msg.tasks.map((t) =>
            t.shared
              ? {
                ...t,
                args: this.#peer.serve(t.args) as unknown[],
                kwargs: this.#peer.serve(t.kwargs) as typeof t.kwargs,
              }
              : t.args instanceof SharedArrayBuffer
              ? { ...t, args: new Uint8Array(t.args).slice().buffer }
              : t
          ),
        };
        message = msg;
      }
      // What is left of shared memory (a bare SharedArrayBuffer) would
      // arrive as a copy: refuse it.
      for (const t of msg.tasks) {
        checkNoSharedMemory(t.args, "send the task");
        checkNoSharedMemory(t.kwargs, "send the task");
      }
    }
    if (transfer !== undefined && transfer.length > 0) {
      for (const t of transfer) {
        if (!(t instanceof ArrayBuffer)) {
          throw new TypeError(
            `Cannot send the task: only ArrayBuffers can be transferred to a "subprocess" process, got ${
              t?.constructor?.name ?? typeof t
            }`,
          );
        }
      }
    }
    let frame: Uint8Array;
    try {
      frame = encodeFrame(message);
    } catch (err) {
      checkNoSharedMemory(message, "send the task");
      throw err;
    }
    if (transfer !== undefined && transfer.length > 0) {
      structuredClone(null, { transfer });
    }
    if (this.#exited) return;
    if (this.#channel !== null) this.#channel.send(frame);
    else this.#queued.push(frame);
  }

  /**
   * Sends SIGTERM; a child still alive after a grace period gets SIGKILL.
   * The child keeps the program alive until its exit is reported.
   *
   * @returns The exit code.
   */
  terminate(): Promise<number> {
    // Whoever terminates a child waits for its exit (as a Worker's
    // terminate() does): keep the program alive until it is reported.
    if (!this.#exited) this.ref();
    this.kill("SIGTERM");
    if (!this.#exited && this.#killTimer === undefined) {
      this.#killTimer = setTimeout(
        () => this.kill("SIGKILL"),
        TERMINATE_GRACE_MS,
      );
      if (!this.#refed) Deno.unrefTimer(this.#killTimer);
    }
    return this.#exit;
  }

  /**
   * Sends a signal to the child (nothing once it exited).
   *
   * @param signal The signal.
   */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (this.#exited) return;
    try {
      this.#child.kill(signal);
    } catch {
      // It has just exited.
    }
  }

  /**
   * Watches for the child's end in a way a thread that blocks its event
   * loop can see (`Process.joinSync`). Call it right after spawning: the
   * watch then also holds the code once the event loop collected the
   * child, before the "exit" event.
   *
   * @returns The watch.
   */
  watchExit(): ChildExitWatch {
    return new ChildExitWatch(
      this.pid,
      this.#child.status,
      SIGNALS,
      () =>
        this.#channel === null
          ? "the child is still starting: it gets its target over a connection this program's event loop serves, which joinSync would block for good (give joinSync a timeout to wait anyway)"
          : this.#peer.serving
          ? "the child was sent primitives this program serves (a Lock, Queue, Value …): each of its operations on them is answered by this program's event loop, which joinSync would block for good (give joinSync a timeout to wait anyway)"
          : null,
    );
  }

  /** Lets the child keep the program alive. */
  ref(): void {
    this.#refed = true;
    this.#setRef(true);
  }

  /** Stops the child from keeping the program alive. */
  unref(): void {
    this.#refed = false;
    this.#setRef(false);
  }

  #setRef(on: boolean): void {
    // Once Deno has collected the child, its handles are closing or
    // closed, and `ref()` on one throws `BadResource` (a daemon's
    // `join()` refs it in the moment before its exit is reported). The
    // exit report holds its own timer, so the program stays alive for it.
    if (this.#exited) return;
    const handles: Array<{ ref(): void; unref(): void } | null> = [
      this.#child,
      this.#channel,
      this.#listener,
      this.#sync,
    ];
    for (const h of handles) {
      try {
        if (on) h?.ref();
        else h?.unref();
      } catch (err) {
        // Closed under us (the child ended this very moment): nothing to
        // keep alive.
        if (!(err instanceof Deno.errors.BadResource)) throw err;
      }
    }
    if (this.#killTimer === undefined) return;
    if (on) Deno.refTimer(this.#killTimer);
    else Deno.unrefTimer(this.#killTimer);
  }
}
