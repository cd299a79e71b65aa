/**
 * The parent's side of serving primitives to a `"subprocess"` child (see
 * `_served/spec.ts` for the drawing). When a value bound for the child
 * holds a `Lock`, `Queue`, `Value` … (as a marker from `encodeShared`),
 * {@linkcode ServedPeer.serve} swaps it for a stand-in marker and keeps a
 * handle to the real primitive; {@linkcode ServedPeer.handle} then runs
 * the child's calls on that handle, in the child's name
 * ({@linkcode runAs}), so a lock the child holds is the child's: an
 * `RLock` counts per child, and a child that dies holding a lock hands it
 * on like a dead worker does.
 *
 * Every child gets its own handle of each primitive, as a worker would
 * (a child's `queue.close()` closes its handle, not the parent's).
 *
 * @module
 */

import { toRemoteError } from "../_launch/protocol.ts";
import { type ActingFor, runAs, setServedHere } from "../_common/runtime.ts";
import {
  allowed,
  SERVED,
  SERVED_TAG,
  type ServedData,
  type ServedReply,
  type ServedRequest,
  type SyncAddress,
} from "./spec.ts";
import {
  decodeShared,
  encodeShared,
  makeMarker,
  mapMarkers,
  markerHoldsSharedMemory,
  reviveFresh,
  type SharedMarker,
} from "../_common/transfer.ts";

/**
 * The original marker of every primitive served, by `tag:id`, with how
 * many children hold a handle of it: a stand-in coming back from a child
 * is the original again, and once no child holds one the marker (and the
 * shared memory it keeps alive) is let go.
 */
const originals = new Map<string, { marker: SharedMarker; holders: number }>();

/**
 * The original primitive a stand-in stands for, when it comes back from a
 * child (a task's result, an item put on a queue by the child).
 *
 * @param id The served id (`tag:id` of the original).
 * @returns The real primitive.
 * @throws {TypeError} This process does not serve it.
 */
export function reviveOriginal(id: string): unknown {
  const marker = originals.get(id)?.marker;
  if (marker === undefined) {
    throw new TypeError(
      `Cannot receive a primitive served by another process: this process does not hold it; pass primitives down from the process that made them`,
    );
  }
  return decodeShared(makeMarker(marker));
}

/** One child's view of what its parent serves it. */
export class ServedPeer {
  /** The child's key in this program's liveness table. */
  readonly key: number;
  /** Whom the calls run for, with the waits pending for it. */
  #for: ActingFor;
  /** This child's handle of each primitive, and markers sent of it. */
  #handles = new Map<string, { handle: object; sent: number }>();
  #sync: () => SyncAddress;
  /** Whether the child was ever sent a primitive served from here. */
  serving = false;
  #ended = false;

  /**
   * Serves one child.
   *
   * @param key The child's key (from `childRuntime()`), acted as.
   * @param sync Opens (once) and returns the channel for blocking calls.
   */
  constructor(key: number, sync: () => SyncAddress) {
    this.key = key;
    this.#for = { key, timers: new Set(), ended: false };
    setServedHere(key, true);
    this.#sync = sync;
  }

  /**
   * Swaps every servable primitive inside an encoded value for a stand-in
   * marker. Markers that hold no shared memory (manager proxies) and
   * stand-ins pass unchanged.
   *
   * @param value A value passed through `encodeShared`.
   * @returns The value to send to the child.
   */
  serve(value: unknown): unknown {
    return mapMarkers(value, (marker) => {
      if (marker.tag === SERVED_TAG) {
        const cls = (marker.data as { cls?: string })?.cls ?? "primitive";
        throw new TypeError(
          `Cannot pass on a '${cls}' that this process's parent serves it: a "subprocess" process cannot serve it again; make it in the process that starts the children, or pass it to them from there`,
        );
      }
      if (
        SERVED[marker.tag] === undefined || !markerHoldsSharedMemory(marker)
      ) {
        return makeMarker(marker);
      }
      this.serving = true;
      const sid = `${marker.tag}:${marker.id}`;
      let held = this.#handles.get(sid);
      if (held === undefined) {
        // Revived as the child, so a handle that counts its holder (a
        // Connection end) counts the child, who ends or closes it.
        held = {
          handle: runAs(this.#for, () => reviveFresh(marker)) as object,
          sent: 0,
        };
        this.#handles.set(sid, held);
        const o = originals.get(sid);
        if (o === undefined) originals.set(sid, { marker, holders: 1 });
        else o.holders++;
      }
      held.sent++;
      const handle = held.handle;
      const data: ServedData & { cls: string } = {
        tag: marker.tag,
        cls: handle.constructor.name,
        sync: this.#sync(),
      };
      return makeMarker({ tag: SERVED_TAG, id: sid, data });
    });
  }

  /**
   * The child has ended: what it left waiting must take nothing from the
   * others, nor keep this program alive. Its queue handles close, which
   * rejects a waiting `get` before it takes an item; its pipe ends stop
   * waiting; its other waits stop holding the event loop, and a lock,
   * semaphore or condition they get is released again (`giveBack`).
   */
  end(): void {
    this.#ended = true;
    setServedHere(this.key, false);
    // Waits still pending for it (a lock, an event …) no longer keep this
    // program alive; should they complete, `giveBack` undoes them.
    this.#for.ended = true;
    for (const t of this.#for.timers) Deno.unrefTimer(t);
    for (const [sid, { handle }] of this.#handles) {
      const onEnd = SERVED[sid.slice(0, sid.indexOf(":"))]?.onEnd;
      try {
        if (onEnd === "close") (handle as { close(): void }).close();
        else if (onEnd === "cancelWaits") {
          (handle as { [kCancelWaits](): void })[kCancelWaits]();
        }
      } catch {
        // Already closed.
      }
    }
  }

  /**
   * Lets go of every handle (the child has ended and what it sent last
   * has been read).
   */
  release(): void {
    for (const sid of [...this.#handles.keys()]) this.#forget(sid);
  }

  /** The child's stand-in for `sid` is gone after `received` markers. */
  #drop(sid: string, received: number): void {
    const held = this.#handles.get(sid);
    if (held === undefined) return;
    held.sent -= received;
    // A marker sent since is still on its way: keep the handle for it.
    if (held.sent <= 0) this.#forget(sid);
  }

  #forget(sid: string): void {
    if (!this.#handles.delete(sid)) return;
    const o = originals.get(sid);
    if (o !== undefined && --o.holders <= 0) originals.delete(sid);
  }

  /**
   * Runs one call of the child's, as the child, and answers it. Never
   * throws: a failure is the reply; a `drop` has none (`null`).
   *
   * @param req The child's request.
   * @returns The reply to send back.
   */
  async handle(req: ServedRequest): Promise<ServedReply | null> {
    if (req.op === "drop") {
      this.#drop(req.s, req.a[0] as number);
      return null;
    }
    try {
      const handle = this.#handles.get(req.s)?.handle;
      const tag = req.s.slice(0, req.s.indexOf(":"));
      if (handle === undefined) {
        throw new TypeError(
          `Cannot use a '${tag}' the parent never sent to this process; pass it in the process's or task's arguments`,
        );
      }
      if (!allowed(tag, req.op, req.m)) {
        throw new TypeError(
          `Cannot ${req.op} '${req.m}' of a '${tag}' from a "subprocess" process: it is not part of its API`,
        );
      }
      const args = decodeShared(req.a) as unknown[];
      const target = handle as Record<string, unknown>;
      const value = await runAs(this.#for, async () => {
        switch (req.op) {
          case "get":
            return target[req.m];
          case "set":
            target[req.m] = args[0];
            return undefined;
          case "lock": {
            const lock = target.lock as (o: unknown) => Promise<
              { ownerDied: boolean }
            >;
            return (await lock.call(handle, args[0])).ownerDied;
          }
          case "call":
            return await (target[req.m] as (...a: unknown[]) => unknown)
              .apply(handle, args);
          case "drop":
            return undefined;
        }
      });
      if (this.#ended) {
        // Nobody will get the reply: give back what was taken for it.
        await runAs(this.#for, () => giveBack(tag, req, value, target));
      }
      return {
        t: "srv-r",
        q: req.q,
        ok: true,
        v: this.serve(encodeShared(value)),
      };
    } catch (err) {
      const e = toRemoteError(err);
      return {
        t: "srv-r",
        q: req.q,
        ok: false,
        e: { name: e.name, message: e.message, stack: e.stack },
      };
    }
  }
}

/** Ends a served handle's waits (`Connection[kCancelWaits]`). */
const kCancelWaits: unique symbol = Symbol.for(
  "@seed/multiprocessing.cancelWaits",
);

/**
 * Undoes an acquire that completed for a child that has ended: a lock,
 * semaphore or condition it was waiting for is released again, so the
 * next process gets it without a dead owner to step over.
 */
function giveBack(
  tag: string,
  req: ServedRequest,
  value: unknown,
  target: Record<string, unknown>,
): void {
  const held = SERVED[tag]?.holds?.[req.m];
  if (held === undefined || (held === "ifTrue" && value !== true)) return;
  try {
    (target.release as () => void).call(target);
  } catch {
    // Already handed on.
  }
}

/**
 * Whether a message from a child is a served call.
 *
 * @param message A decoded frame.
 */
export function isServedRequest(message: unknown): message is ServedRequest {
  return (message as { t?: unknown } | null)?.t === "srv";
}

/**
 * How many primitives this program serves to its children now (for
 * tests: a long-running program must not hold on to every one it ever
 * sent).
 *
 * @returns The number of primitives some child still holds a handle of.
 */
export function servedCount(): number {
  return originals.size;
}
