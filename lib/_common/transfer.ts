/**
 * How this module's primitives cross into another process.
 *
 * A primitive (`Lock`, `Queue`, `Value`, `Connection` …) implements
 * {@linkcode kShare}: it returns a descriptor `{ tag, id, data }` whose
 * `data` is structured-cloneable (SharedArrayBuffers, MessagePorts, plain
 * values). {@linkcode encodeShared} walks task arguments (arrays and plain
 * objects, to any depth) and swaps every primitive for a marker object;
 * {@linkcode decodeShared} in the receiving process swaps each marker back
 * for a working primitive, made by the static {@linkcode kRevive} of the
 * class registered for its tag. Revived objects are cached by `tag` and
 * `id`, so the same primitive passed twice is the same object there.
 *
 * The registry of shareable classes is one explicit list,
 * `_launch/shareables.ts`, which hands itself to this module
 * ({@linkcode useShareables}) when it is imported: the worker and child
 * entries import it, and so do the parent's modules that send primitives
 * (`process.ts`, `_pool/engine.ts`). A primitive whose tag is not in it
 * cannot be sent.
 *
 * @module
 */

import { isPlainObject, KEEP, rewrite } from "./walk.ts";

/** The method a shareable primitive implements to describe itself. */
export const kShare: unique symbol = Symbol.for("@seed/multiprocessing.share");

/**
 * The static method of a shareable class that makes a working primitive
 * in the receiving process from what its {@linkcode kShare} described:
 * `static [kRevive](data: unknown, id: string)`.
 */
export const kRevive: unique symbol = Symbol.for(
  "@seed/multiprocessing.revive",
);

/** How the registry of shareable classes revives the primitives of a tag. */
export interface RegisteredShareable {
  /**
   * Makes a working primitive in this process: the static
   * {@linkcode kRevive} of the tag's class.
   *
   * @param data The descriptor's `data`, as it arrived.
   * @param id The descriptor's `id`.
   */
  revive(data: unknown, id: string): unknown;
  /**
   * The reviver keeps its own cache, so it is called for every marker,
   * not only for the first of an id.
   */
  everyMarker?: boolean;
}

/** What a shareable primitive turns into when it crosses. */
export interface ShareDescriptor {
  /** The tag its class is registered under (`_launch/shareables.ts`). */
  tag: string;
  /** A stable id: the same primitive always gives the same id. */
  id: string;
  /** Structured-cloneable state (SharedArrayBuffers, ports, numbers …). */
  data: unknown;
  /** Ports to transfer (not clone) with the message. */
  transfer?: Transferable[];
}

/** An object that can be sent to another process as a working primitive. */
export interface Shareable {
  /**
   * Describes the primitive for the receiving process.
   *
   * @param holder The key of the process it is sent to, when known (a
   * `Connection` counts it as a holder from now on).
   */
  [kShare](holder?: number): ShareDescriptor;
}

const MARK = "\u0000mp-share";

interface Marker {
  [MARK]: string;
  id: string;
  data: unknown;
}

/** The registry's lookup, once `_launch/shareables.ts` has handed it over. */
let registry: ((tag: string) => RegisteredShareable | undefined) | null = null;

/**
 * Installs the registry of shareable classes: how this process finds the
 * class that revives a tag. `_launch/shareables.ts` calls it when it is
 * imported; nothing else does.
 *
 * @param lookup The registered class of a tag, if any.
 */
export function useShareables(
  lookup: (tag: string) => RegisteredShareable | undefined,
): void {
  registry = lookup;
}

const revived = new Map<string, WeakRef<object>>();

/** Whether a primitive of `tag` can be revived by whoever receives it. */
function isRegistered(tag: string): boolean {
  return registry?.(tag) !== undefined;
}

/** Makes `tag`'s primitive here with its registered reviver. */
function reviveWith(tag: string, data: unknown, id: string): unknown {
  const entry = registry?.(tag);
  if (entry !== undefined) return entry.revive(data, id);
  throw new TypeError(
    registry === null
      ? `Cannot receive a '${tag}': this process has not loaded the registry of shareable classes; import "lib/_launch/shareables.ts" in its entry`
      : `Cannot receive a '${tag}': no class is registered for it in lib/_launch/shareables.ts; use the same version of @seed/multiprocessing in every process`,
  );
}

/**
 * Remembers `obj` as the local object for `tag`/`id`, so that a marker
 * for it coming back into this process revives as `obj` itself.
 *
 * @param tag The primitive's tag.
 * @param id The primitive's id.
 * @param obj The primitive.
 */
export function rememberShared(tag: string, id: string, obj: object): void {
  revived.set(`${tag}:${id}`, new WeakRef(obj));
}

/** A fresh id for a new shareable primitive. */
export function newShareId(): string {
  return crypto.randomUUID();
}

function isShareable(value: object): value is Shareable {
  return typeof (value as Partial<Shareable>)[kShare] === "function";
}

/**
 * Throws if a shareable primitive is inside `value` (itself, or in the
 * arrays, plain objects, Maps and Sets it holds), where `encodeShared`
 * would find it: sent as plain data, it would arrive as an empty object.
 *
 * @param value A value about to be sent as data (a queue item, a pipe
 *   message).
 * @throws {DOMException} `DataCloneError`, naming the primitive.
 */
export function refuseShareables(value: unknown): void {
  rewrite(value, refuseVisit, undefined);
}

/** The {@linkcode rewrite} visitor of {@linkcode refuseShareables}. */
function refuseVisit(obj: object): unknown {
  if (isShareable(obj)) throw shareableInDataError(obj);
  return KEEP;
}

/**
 * The error for a shareable primitive found inside a value sent as data
 * (a queue item, a pipe message): it would arrive as an empty object.
 * Python refuses the same ("should only be shared between processes
 * through inheritance").
 */
function shareableInDataError(obj: object): DOMException {
  const name = (obj.constructor as { name?: string } | undefined)?.name ||
    "primitive";
  return new DOMException(
    `Cannot send a '${name}' inside a value: this module's primitives cross only as the arguments of a Process or a pool task (in Python they "should only be shared between processes through inheritance"); pass it that way`,
    "DataCloneError",
  );
}

/**
 * Replaces every shareable primitive inside `value` (itself, or nested in
 * arrays and plain objects) with a marker. Returns `value` unchanged (the
 * same object) when it holds none, so the common case allocates nothing.
 *
 * @param value Task arguments, a result, or any value about to cross.
 * @param transfer Collects ports the descriptors ask to transfer.
 * @param holder The key of the process it is sent to, when known.
 * @returns The value to send.
 */
export function encodeShared(
  value: unknown,
  transfer?: Transferable[],
  holder?: number,
): unknown {
  const outer = sendingTo;
  const outerCopies = bufferCopies;
  sendingTo = holder ?? outer;
  bufferCopies = null;
  try {
    return rewrite(value, toMarker, transfer);
  } finally {
    sendingTo = outer;
    bufferCopies = outerCopies;
  }
}

/**
 * The key of the process an {@linkcode encodeShared} call (and those it
 * makes, from `[kShare]()` methods) sends to, when known. A variable, not
 * a parameter, so the descriptors nested in a primitive's `[kShare]()`
 * see it too; encoding is synchronous, so calls never interleave.
 */
let sendingTo: number | undefined;

/**
 * The copies {@linkcode viewMarker} made in the current
 * {@linkcode encodeShared} call, by original buffer: views over one buffer
 * arrive over one buffer, as structured clone gives.
 */
let bufferCopies: Map<ArrayBuffer, ArrayBuffer> | null = null;

/** The {@linkcode rewrite} visitor of {@linkcode encodeShared}. */
function toMarker(obj: object, transfer: Transferable[] | undefined): unknown {
  if (ArrayBuffer.isView(obj)) return viewMarker(obj, transfer);
  if (!isShareable(obj)) return KEEP;
  const d = obj[kShare](sendingTo);
  // A process that has not loaded the registry yet (a pool worker thread
  // loads it when it first needs it) sends as it is; the receiver checks.
  if (registry !== null && !isRegistered(d.tag)) {
    throw notRegistered(obj, d.tag);
  }
  if (d.transfer && transfer) transfer.push(...d.transfer);
  const marker: Marker = { [MARK]: d.tag, id: d.id, data: d.data };
  return marker;
}

/**
 * The error for a primitive whose class is not in the registry: it would
 * arrive as nothing that works, so it is not sent.
 */
function notRegistered(obj: object, tag: string): TypeError {
  const name = (obj.constructor as { name?: string } | undefined)?.name ||
    tag;
  return new TypeError(
    `Cannot send a '${name}': its class is not in the registry of shareable classes; add it to lib/_launch/shareables.ts with its static [kRevive]`,
  );
}

/** The tag of a typed array's or DataView's marker (see {@linkcode viewMarker}). */
const VIEW_TAG = "mp.view";

/** Views over smaller buffers cross as they are. */
const VIEW_MIN_BYTES = 64;

/** What a view's marker holds. */
interface ViewData {
  /** Its class: `Uint8Array` … `DataView`. */
  type: string;
  buffer: ArrayBufferLike;
  offset: number;
  /** Elements (bytes for a DataView). */
  length: number;
}

/**
 * Swaps a typed array or DataView for a marker holding its bare buffer.
 * Deno 2.9.6's `receiveMessageOnPort` (how a busy pool worker takes its
 * next tasks) takes ~240 ns per ELEMENT to receive a view, transferred or
 * not: 5 s for a 16 MiB Uint8Array, where a bare ArrayBuffer takes a few
 * ms. The marker keeps structured clone's result: the whole buffer is
 * copied (once for all views over it) unless it is transferred, which
 * moves it, or shared; the view is rebuilt at its offset and length.
 * A resizable buffer crosses as it is (a copy would lose that).
 */
function viewMarker(
  view: ArrayBufferView,
  transfer: Transferable[] | undefined,
): unknown {
  const buffer = view.buffer;
  if (
    buffer.byteLength < VIEW_MIN_BYTES ||
    (buffer as ArrayBuffer).resizable ||
    (buffer as SharedArrayBuffer).growable
  ) {
    return KEEP;
  }
  let sent: ArrayBufferLike = buffer;
  if (
    !(buffer instanceof SharedArrayBuffer) &&
    !transfer?.includes(buffer as ArrayBuffer)
  ) {
    bufferCopies ??= new Map();
    // Not added to `transfer`: a pool task that transfers travels alone,
    // and one that is sent again (its worker died) would find it moved.
    let copy = bufferCopies.get(buffer as ArrayBuffer);
    if (copy === undefined) {
      copy = (buffer as ArrayBuffer).slice(0);
      bufferCopies.set(buffer as ArrayBuffer, copy);
    }
    sent = copy;
  }
  const data: ViewData = {
    type: Object.prototype.toString.call(view).slice(8, -1),
    buffer: sent,
    offset: view.byteOffset,
    length: view instanceof DataView
      ? view.byteLength
      : (view as Uint8Array).length,
  };
  const marker: Marker = { [MARK]: VIEW_TAG, id: "", data };
  return marker;
}

/** Views rebuilt from their markers, so one view sent twice is one view. */
const revivedViews = new WeakMap<object, ArrayBufferView>();

function reviveView(marker: Marker): ArrayBufferView {
  let view = revivedViews.get(marker);
  if (view === undefined) {
    const d = marker.data as ViewData;
    const Type = (globalThis as unknown as Record<
      string,
      new (b: ArrayBufferLike, o: number, n: number) => ArrayBufferView
    >)[d.type];
    view = new Type(d.buffer, d.offset, d.length);
    revivedViews.set(marker, view);
  }
  return view;
}

/**
 * Rebuilds the primitives that {@linkcode encodeShared} replaced, with the
 * same walk (`walk.ts`: arrays, objects, Maps and Sets, cycles included).
 * Returns `value` itself when it holds no marker; otherwise a copy with
 * working primitives in place of the markers (or the primitive, when
 * `value` is a marker).
 *
 * @param value A value that crossed.
 * @returns The value with working primitives in place of markers.
 */
export function decodeShared(value: unknown): unknown {
  return rewrite(value, decodeVisit, undefined);
}

/** The {@linkcode rewrite} visitor of {@linkcode decodeShared}. */
function decodeVisit(obj: object): unknown {
  return isMarker(obj) ? revive(obj) : KEEP;
}

function revive(marker: Marker): unknown {
  const tag = marker[MARK];
  if (tag === VIEW_TAG) return reviveView(marker);
  if (registry?.(tag)?.everyMarker) {
    return reviveWith(tag, marker.data, marker.id);
  }
  const key = `${tag}:${marker.id}`;
  const cached = revived.get(key)?.deref();
  if (cached !== undefined) return cached;
  const obj = reviveWith(tag, marker.data, marker.id) as object;
  revived.set(key, new WeakRef(obj));
  return obj;
}

/** A primitive's marker, as {@linkcode encodeShared} leaves it. */
export interface SharedMarker {
  /** The reviver's tag. */
  tag: string;
  /** The primitive's id. */
  id: string;
  /** The descriptor's data. */
  data: unknown;
}

/**
 * Makes the marker for a primitive, as a `[kShare]()` descriptor would.
 *
 * @param marker Its tag, id and data.
 * @returns The marker object to send.
 */
export function makeMarker(marker: SharedMarker): unknown {
  const out: Marker = { [MARK]: marker.tag, id: marker.id, data: marker.data };
  return out;
}

/**
 * Replaces each marker inside an encoded value with what `fn` returns for
 * it, copying only the arrays and objects on the way to a replaced
 * marker; `value` itself is never changed.
 *
 * @param value A value passed through {@linkcode encodeShared}.
 * @param fn Called with each marker; returns its replacement.
 * @returns The value with the replacements.
 */
export function mapMarkers(
  value: unknown,
  fn: (marker: SharedMarker) => unknown,
): unknown {
  return rewrite(value, mapMarker, fn);
}

/** The {@linkcode rewrite} visitor of {@linkcode mapMarkers}. */
function mapMarker(
  obj: object,
  fn: (marker: SharedMarker) => unknown,
): unknown {
  const rec = obj as Record<string, unknown>;
  if (Array.isArray(obj) || typeof rec[MARK] !== "string") return KEEP;
  return fn({ tag: rec[MARK] as string, id: rec.id as string, data: rec.data });
}

/**
 * Builds a new handle for a marker's primitive with its reviver, without
 * the cache {@linkcode decodeShared} uses: state kept per handle (a
 * queue's `close()`) then stays with whoever holds this one.
 *
 * @param marker The marker.
 * @returns A working primitive over the same shared memory.
 */
export function reviveFresh(marker: SharedMarker): unknown {
  // A reviver may remember what it builds; keep the cache as it was.
  const key = `${marker.tag}:${marker.id}`;
  const cached = revived.get(key);
  const obj = reviveWith(marker.tag, marker.data, marker.id);
  if (cached !== undefined) revived.set(key, cached);
  else revived.delete(key);
  return obj;
}

/**
 * Whether a marker's primitive lives in shared memory (so it cannot cross
 * to an OS process as it is).
 *
 * @param marker The marker.
 */
export function markerHoldsSharedMemory(marker: SharedMarker): boolean {
  return holdsSharedMemory(marker.data);
}

/**
 * Checks that a value about to cross to a `"subprocess"` process holds no
 * shared memory left: the parent serves this module's primitives to such
 * a child (`_served/host.ts`), but a bare SharedArrayBuffer, or a
 * primitive it cannot serve, cannot reach an OS process, which shares no
 * memory with its parent.
 *
 * @param value A value already passed through {@linkcode encodeShared}.
 * @param action What is being done, for the error message.
 * @throws {TypeError} Naming the primitive (or the SharedArrayBuffer) and
 *   suggesting a `Manager()` proxy.
 */
export function checkNoSharedMemory(value: unknown, action: string): void {
  const found = findSharedMemory(value);
  if (found === null) return;
  const what = found === "" ? "a SharedArrayBuffer" : `a '${found}'`;
  throw new TypeError(
    `Cannot ${action}: ${what} cannot reach a "subprocess" process: it is shared memory, which OS processes do not share; pass a Value or Array (the parent serves those), a Manager() proxy, or use the "worker" start method`,
  );
}

/**
 * The tag of the first marker holding shared memory ("" for a bare
 * SharedArrayBuffer or a view of one), or `null`: the walk of `walk.ts`,
 * so Maps, Sets and cycles included.
 */
function findSharedMemory(value: unknown): string | null {
  const hit = findObject(
    value,
    (obj) =>
      isSharedMemory(obj) || (isMarker(obj) && holdsSharedMemory(obj.data)),
  );
  if (hit === undefined) return null;
  if (!isMarker(hit) || hit[MARK] === VIEW_TAG) return "";
  return hit[MARK].replace(/^mp\./, "");
}

/** Whether shared memory, or a port, is anywhere in `value`. */
function holdsSharedMemory(value: unknown): boolean {
  return findObject(
    value,
    (obj) =>
      isSharedMemory(obj) ||
      (typeof MessagePort !== "undefined" && obj instanceof MessagePort),
  ) !== undefined;
}

/** Whether `obj` is a SharedArrayBuffer or a view of one. */
function isSharedMemory(obj: object): boolean {
  return obj instanceof SharedArrayBuffer ||
    (ArrayBuffer.isView(obj) && obj.buffer instanceof SharedArrayBuffer);
}

/** Whether `obj` is a marker that {@linkcode encodeShared} made. */
function isMarker(obj: object): obj is Marker {
  return !Array.isArray(obj) && isPlainObject(obj) &&
    typeof (obj as Record<string, unknown>)[MARK] === "string";
}

/** Thrown inside {@linkcode findObject}'s walk once it found one. */
const FOUND: unique symbol = Symbol("found");

/** The first object in `value` (the walk of `walk.ts`) that `test` accepts. */
function findObject(
  value: unknown,
  test: (obj: object) => boolean,
): object | undefined {
  let found: object | undefined;
  try {
    rewrite(value, (obj) => {
      if (!test(obj)) return KEEP;
      found = obj;
      throw FOUND;
    }, undefined);
  } catch (e) {
    if (e !== FOUND) throw e;
  }
  return found;
}
