/**
 * The child's side of primitives served by the parent (`"subprocess"`
 * start method; see `_served/spec.ts`). A `Lock`, `Queue`, `Value` …
 * passed to an OS child arrives as a stand-in (`stand_in.ts`) whose
 * members ask the parent to act on the real primitive. Here: receiving
 * stand-ins (one per primitive while it lives, and telling the parent
 * when it is collected), and sending their calls. Async members travel
 * over the process channel; blocking ones (`…Sync`, `value.value`,
 * `a[i]`) through a helper thread (`blocking.ts`) while this thread waits.
 *
 * Errors come back as the classes thrown in the parent (`Empty`, `Full`,
 * `TimeoutError`, `BrokenBarrierError`, `EOFError`, `ValueError`, …).
 *
 * @module
 */

import {
  BrokenBarrierError,
  Empty,
  EOFError,
  Full,
  ProcessError,
  TimeoutError,
  ValueError,
} from "../errors.ts";
import type { ServedReply, ServedRequest } from "./spec.ts";
import {
  type Ctor,
  type ServedCall,
  type ServedCalls,
  standIn,
  type StandInData,
} from "./stand_in.ts";
import { sendBlocking } from "./blocking.ts";
import { encodeFrame } from "../_launch/frames.ts";
import { decodeItem } from "../_shm/codec.ts";
import { decodeShared, encodeShared } from "../_common/transfer.ts";

/** How the child sends a served call over its process channel. */
export interface ServedTransport {
  /** Sends a request frame (throws `DataCloneError` synchronously). */
  send(request: ServedRequest): void;
}

/** Errors a served call may throw, rebuilt as their own classes here. */
const ERRORS: Record<string, Ctor> = {
  Empty,
  Full,
  TimeoutError,
  BrokenBarrierError,
  EOFError,
  ValueError,
  ProcessError,
  TypeError,
  RangeError,
};

let transport: ServedTransport | null = null;
let seq = 0;
const pending = new Map<number, PromiseWithResolvers<unknown>>();

/**
 * Makes this process receive served primitives as stand-ins that call the
 * parent over `t`. Called once by the child entry.
 *
 * @param t The process channel.
 */
export function connectServed(t: ServedTransport): void {
  transport = t;
}

/**
 * Whether this process is a `"subprocess"` child its parent serves
 * primitives to (the child entry has connected it).
 *
 * @returns `true` in a connected child.
 */
export function servedByParent(): boolean {
  return transport !== null;
}

/** A live stand-in, and how many markers of it this process received. */
interface Held {
  ref: WeakRef<object>;
  count: { sid: string; n: number };
}

const held = new Map<string, Held>();

// When a stand-in is collected, tell the parent how many markers it
// stood for: the parent lets go of its handle once it has sent no more
// than that (a marker still on its way keeps it).
const dropped = new FinalizationRegistry<{ sid: string; n: number }>(
  (count) => {
    if (held.get(count.sid)?.count === count) held.delete(count.sid);
    try {
      transport?.send({
        t: "srv",
        q: 0,
        s: count.sid,
        op: "drop",
        m: "",
        a: [count.n],
      });
    } catch {
      // The channel is gone, and the parent with it.
    }
  },
);

/**
 * The stand-in for a served primitive's marker: the live one, or a new
 * one.
 *
 * @param data What the parent sent of it.
 * @param sid Its served id.
 * @returns The stand-in.
 */
export function reviveStandIn(data: StandInData, sid: string): object {
  const h = held.get(sid);
  const live = h?.ref.deref();
  if (h !== undefined && live !== undefined) {
    h.count.n++;
    return live;
  }
  const obj = standIn(data, callsOf(sid, data), sid);
  const count = { sid, n: 1 };
  held.set(sid, { ref: new WeakRef(obj), count });
  dropped.register(obj, count);
  return obj;
}

/**
 * Settles the async call a reply answers.
 *
 * @param reply The parent's reply.
 */
export function onServedReply(reply: ServedReply): void {
  const p = pending.get(reply.q);
  if (p === undefined) return;
  pending.delete(reply.q);
  try {
    if (reply.ok) p.resolve(decodeShared(reply.v));
    else p.reject(remoteError(reply.e!));
  } catch (err) {
    p.reject(err);
  }
}

function remoteError(e: NonNullable<ServedReply["e"]>): Error {
  if (e.name === "DataCloneError") {
    return new DOMException(e.message, "DataCloneError");
  }
  const err = new Error(e.message);
  Object.setPrototypeOf(err, (ERRORS[e.name] ?? Error).prototype);
  err.name = e.name;
  return err;
}

/** How the stand-in `sid` sends its calls to the parent. */
function callsOf(sid: string, data: StandInData): ServedCalls {
  const request = (
    ...[op, m, args]: Parameters<ServedCall<unknown>>
  ): ServedRequest => {
    if (transport === null) throw noParent();
    const a = encodeShared(args) as unknown[];
    return { t: "srv", q: ++seq, s: sid, op, m, a };
  };
  return {
    async(op, m, args) {
      let req: ServedRequest | undefined;
      const p = Promise.withResolvers<unknown>();
      try {
        req = request(op, m, args);
        pending.set(req.q, p);
        transport!.send(req);
      } catch (err) {
        if (req !== undefined) pending.delete(req.q);
        return Promise.reject(err);
      }
      return p.promise;
    },
    sync(op, m, args) {
      const frame = encodeFrame(request(op, m, args));
      const reply = decodeItem(sendBlocking(data.sync, frame)) as ServedReply;
      if (!reply.ok) throw remoteError(reply.e!);
      return decodeShared(reply.v);
    },
  };
}

function noParent(): Error {
  return new TypeError(
    'Cannot use a primitive served by a parent process here: only the "subprocess" process it was sent to can; pass it down from the process that made it',
  );
}
