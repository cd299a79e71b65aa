/**
 * The fast lane: one task at a time through shared memory, for the
 * latency of a single `await pool.apply(f, args)`.
 *
 * A `postMessage` costs about 40 µs each way on Deno here; a hand-off seen
 * by a spinning thread costs well under 1 µs. So a pool worker that runs
 * out of work spins briefly ({@linkcode SPIN_MS}) on its lane before it
 * goes back to its event loop. While it spins, the parent may claim the
 * lane and write one task there (as JSON, when its arguments are plain
 * JSON data); the worker runs it and writes the result back, and the
 * parent, waiting with `Atomics.waitAsync`, reads it.
 *
 * ```text
 *   slot STATE:  EventLoop ──worker idle──► Spinning ──parent──► Claimed
 *                    ▲                          │  ▲               │
 *                    └──spin timed out / Wake───┘  └──result written┘
 * ```
 *
 * Everything else (batches, shared primitives, transferables, results
 * that are not plain JSON) goes by `postMessage`; a parent that posts sets
 * WAKE so a spinning worker goes back to its event loop at once.
 *
 * @module
 */

/** Slot indexes in the lane's Int32Array (slot 0 is STATE_CURRENT). */
export const Lane = {
  /** EventLoop, Spinning or Claimed. */
  STATE: 1,
  /** Set by the parent after a postMessage: stop spinning. */
  WAKE: 2,
  /** Bumped by the worker when a result is written. */
  RES_SEQ: 3,
  /** Byte length of the request. */
  REQ_LEN: 4,
  /** Byte length of the result; negative: see RES_BY_MESSAGE, RES_UNDEFINED. */
  RES_LEN: 5,
  /** Function key of the request. */
  REQ_FN: 6,
  /** Task id of the request. */
  REQ_ID: 7,
  /** Number of Int32 slots before the byte area. */
  SLOTS: 8,
} as const;

/** Lane states. */
const LaneState = { EventLoop: 0, Spinning: 1, Claimed: 2 } as const;

/** Bytes for a request or a result (each has half). */
const AREA = 64 * 1024;

/** How long an idle worker spins on its lane before it sleeps. */
const SPIN_MS = 0.2;

/** How long the parent spins for a lane result before it sleeps. */
const PARENT_SPIN_MS = 0.03;

/** Size of the SharedArrayBuffer a pool worker's state needs. */
export const LANE_BYTES: number = Lane.SLOTS * 4 + 2 * AREA;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A lane over a pool worker's state buffer. */
export interface LaneView {
  /** The control slots. */
  i32: Int32Array;
  /** Request bytes. */
  req: Uint8Array;
  /** Result bytes. */
  res: Uint8Array;
}

/**
 * Views a worker's state buffer as a lane.
 *
 * @param buf The buffer of {@linkcode LANE_BYTES} bytes.
 * @returns The views.
 */
export function laneView(buf: SharedArrayBuffer): LaneView {
  const base = Lane.SLOTS * 4;
  return {
    i32: new Int32Array(buf, 0, Lane.SLOTS),
    req: new Uint8Array(buf, base, AREA),
    res: new Uint8Array(buf, base + AREA, AREA),
  };
}

/**
 * Whether `value` is plain JSON data that survives `JSON.stringify` and
 * `JSON.parse` unchanged (no undefined, NaN, -0, Date, Map, class …).
 *
 * @param value The value.
 * @param depth How deep to look before giving up.
 * @returns `true` when JSON carries it exactly.
 */
function isPlainJson(value: unknown, depth = 8): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object": {
      if (value === null) return true;
      if (depth === 0) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !isPlainJson(value[i], depth - 1)) return false;
        }
        return true;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype) return false;
      for (const k in value) {
        if (k === "__proto__") return false;
        if (!isPlainJson((value as Record<string, unknown>)[k], depth - 1)) {
          return false;
        }
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * Parent side: tries to hand one task to a spinning worker. Returns
 * `false` (nothing written) when the worker is not spinning or the
 * arguments are not plain JSON or too large.
 *
 * @param lane The worker's lane.
 * @param id The task id.
 * @param fn The function key (the worker must already know it).
 * @param args The arguments.
 * @returns Whether the task is now on the lane.
 */
export function laneOffer(
  lane: LaneView,
  id: number,
  fn: number,
  args: unknown[],
): boolean {
  const { i32 } = lane;
  if (Atomics.load(i32, Lane.STATE) !== LaneState.Spinning) return false;
  if (!isPlainJson(args)) return false;
  const { written, read } = encoder.encodeInto(JSON.stringify(args), lane.req);
  if (read === undefined || written >= lane.req.length) return false;
  // Write the request first, then claim: the worker reads it only after it
  // sees Claimed, and the CAS (sequentially consistent) publishes the
  // stores before it. A failed CAS leaves a request nobody will read.
  Atomics.store(i32, Lane.REQ_LEN, written);
  Atomics.store(i32, Lane.REQ_FN, fn);
  Atomics.store(i32, Lane.REQ_ID, id);
  const prev = Atomics.compareExchange(
    i32,
    Lane.STATE,
    LaneState.Spinning,
    LaneState.Claimed,
  );
  if (prev !== LaneState.Spinning) return false;
  Atomics.notify(i32, Lane.STATE);
  return true;
}

/**
 * Parent side: waits for the result of the task on the lane.
 *
 * @param lane The worker's lane.
 * @param seq The RES_SEQ value read before the offer.
 * @returns The result, or `null` when it went by message.
 */
export async function laneResult(
  lane: LaneView,
  seq: number,
): Promise<{ value: unknown } | null> {
  const { i32 } = lane;
  // A quick task is done within microseconds; catching that by spinning
  // saves the 10–60 µs a futex wake of this thread costs. Bounded, since
  // this blocks the caller's event loop.
  const end = performance.now() + PARENT_SPIN_MS;
  while (
    Atomics.load(i32, Lane.RES_SEQ) === seq && performance.now() < end
  ) {
    // Spin.
  }
  while (Atomics.load(i32, Lane.RES_SEQ) === seq) {
    const r = Atomics.waitAsync(i32, Lane.RES_SEQ, seq);
    if (r.async) await r.value;
  }
  const len = Atomics.load(i32, Lane.RES_LEN);
  if (len === RES_BY_MESSAGE) return null;
  if (len === RES_UNDEFINED) return { value: undefined };
  return { value: JSON.parse(decoder.decode(lane.res.slice(0, len))) };
}

/**
 * Parent side: asks a spinning worker to go back to its event loop (a
 * message was posted to it).
 *
 * @param lane The worker's lane.
 */
export function laneWake(lane: LaneView): void {
  Atomics.store(lane.i32, Lane.WAKE, 1);
}

/** A task's outcome on the worker side. */
export type LaneOutcome =
  | { ok: true; value: unknown }
  | { ok: false; error: unknown };

/**
 * What the worker runs for a lane request: the outcome when the function
 * returned synchronously, or `"async"` when it returned a promise (the
 * runner then reports the outcome by message itself).
 */
type LaneRunner = (
  id: number,
  fn: number,
  args: unknown[],
) => LaneOutcome | "async";

/** RES_LEN of a result that is `undefined`. */
const RES_UNDEFINED = -2;
/** RES_LEN of a result sent by message instead. */
const RES_BY_MESSAGE = -1;

/**
 * Worker side: spins on the lane for {@linkcode SPIN_MS}, serving each
 * request with `run` (which returns `null` when it cannot run the task
 * synchronously; the parent never offers such tasks). Returns when the
 * spin times out or the parent asks for the event loop.
 *
 * @param lane The lane.
 * @param run Runs one task synchronously.
 * @param sendByMessage Sends a result the lane cannot carry.
 */
export function laneServe(
  lane: LaneView,
  run: LaneRunner,
  sendByMessage: (id: number, result: LaneOutcome) => void,
): void {
  const { i32 } = lane;
  // WAKE is cleared when a message arrives (see laneClearWake): if one is
  // already posted and not yet received, do not spin at all.
  if (Atomics.load(i32, Lane.WAKE) !== 0) return;
  Atomics.store(i32, Lane.STATE, LaneState.Spinning);
  let end = performance.now() + SPIN_MS;
  for (;;) {
    const state = Atomics.load(i32, Lane.STATE);
    if (state === LaneState.Claimed) {
      if (!serveOne(lane, run, sendByMessage)) return;
      end = performance.now() + SPIN_MS;
      continue;
    }
    if (Atomics.load(i32, Lane.WAKE) !== 0 || performance.now() > end) {
      const prev = Atomics.compareExchange(
        i32,
        Lane.STATE,
        LaneState.Spinning,
        LaneState.EventLoop,
      );
      // Lost the race to a claim: serve it, then try to leave again.
      if (prev === LaneState.Claimed) {
        if (!serveOne(lane, run, sendByMessage)) return;
        continue;
      }
      return;
    }
  }
}

/** Serves one request; `false` when the task went async (stop spinning). */
function serveOne(
  lane: LaneView,
  run: LaneRunner,
  sendByMessage: (id: number, result: LaneOutcome) => void,
): boolean {
  const { i32 } = lane;
  const id = Atomics.load(i32, Lane.REQ_ID);
  const fn = Atomics.load(i32, Lane.REQ_FN);
  const len = Atomics.load(i32, Lane.REQ_LEN);
  const args = JSON.parse(decoder.decode(lane.req.slice(0, len))) as unknown[];
  const result = run(id, fn, args);
  let resLen = RES_BY_MESSAGE;
  if (result !== "async") {
    if (result.ok && result.value === undefined) {
      resLen = RES_UNDEFINED;
    } else if (result.ok && isPlainJson(result.value)) {
      const { written, read } = encoder.encodeInto(
        JSON.stringify(result.value),
        lane.res,
      );
      if (read !== undefined && written < lane.res.length) resLen = written;
    }
    if (resLen === RES_BY_MESSAGE) sendByMessage(id, result);
  }
  Atomics.store(i32, Lane.RES_LEN, resLen);
  // An async task continues on the event loop: leave the lane for it.
  Atomics.store(
    i32,
    Lane.STATE,
    result === "async" ? LaneState.EventLoop : LaneState.Spinning,
  );
  Atomics.add(i32, Lane.RES_SEQ, 1);
  Atomics.notify(i32, Lane.RES_SEQ);
  return result !== "async";
}

/**
 * Worker side: a message arrived, so the parent's WAKE request is served.
 *
 * @param lane The lane.
 */
export function laneClearWake(lane: LaneView): void {
  Atomics.store(lane.i32, Lane.WAKE, 0);
}
