/**
 * How this module's primitives cross into another process.
 *
 * A primitive (`Lock`, `Queue`, `Value`, `Connection` …) implements
 * {@linkcode kShare}: it returns a descriptor `{ tag, id, data }` whose
 * `data` is structured-cloneable (SharedArrayBuffers, MessagePorts, plain
 * values). {@linkcode encodeShared} walks task arguments (arrays and plain
 * objects, to any depth) and swaps every primitive for a marker object;
 * {@linkcode decodeShared} in the receiving process swaps each marker back
 * for a working primitive, made by the reviver registered for its tag with
 * {@linkcode registerShareable}. Revived objects are cached by `tag` and
 * `id`, so the same primitive passed twice is the same object there.
 *
 * Every module that defines a shareable registers it when it is loaded;
 * the worker and child entries import `mod.ts`, so all are registered.
 *
 * @module
 */

/** The method a shareable primitive implements to describe itself. */
export const kShare: unique symbol = Symbol.for("@seed/multiprocessing.share");

/** What a shareable primitive turns into when it crosses. */
export interface ShareDescriptor {
  /** The reviver's name, as given to {@linkcode registerShareable}. */
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
  /** Describes the primitive for the receiving process. */
  [kShare](): ShareDescriptor;
}

const MARK = "\u0000mp-share";

interface Marker {
  [MARK]: string;
  id: string;
  data: unknown;
}

type Reviver = (data: unknown, id: string) => unknown;

const revivers = new Map<string, Reviver>();
const revived = new Map<string, WeakRef<object>>();

/** Tags whose reviver keeps its own cache (it sees every marker). */
const uncached = new Set<string>();

/**
 * Registers how to rebuild a primitive of `tag` in the receiving process.
 *
 * @param tag A name unique to the primitive's class.
 * @param revive Builds a working primitive from the descriptor's data.
 * @param options `cached: false` calls `revive` for every marker, not
 *   only the first of an id (the reviver then keeps its own cache).
 */
export function registerShareable(
  tag: string,
  revive: Reviver,
  options: { cached?: boolean } = {},
): void {
  revivers.set(tag, revive);
  if (options.cached === false) uncached.add(tag);
  else uncached.delete(tag);
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

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Replaces every shareable primitive inside `value` (itself, or nested in
 * arrays and plain objects) with a marker. Returns `value` unchanged (the
 * same object) when it holds none, so the common case allocates nothing.
 *
 * @param value Task arguments, a result, or any value about to cross.
 * @param transfer Collects ports the descriptors ask to transfer.
 * @returns The value to send.
 */
export function encodeShared(
  value: unknown,
  transfer?: Transferable[],
): unknown {
  return rewrite(value, toMarker, transfer);
}

/** The {@linkcode rewrite} visitor of {@linkcode encodeShared}. */
function toMarker(obj: object, transfer: Transferable[] | undefined): unknown {
  if (!isShareable(obj)) return KEEP;
  const d = obj[kShare]();
  if (d.transfer && transfer) transfer.push(...d.transfer);
  const marker: Marker = { [MARK]: d.tag, id: d.id, data: d.data };
  return marker;
}

/** What a {@linkcode rewrite} visitor returns to leave an object as it is. */
const KEEP: unique symbol = Symbol("keep");

/**
 * Walks arrays and plain objects (to any depth), asking `visit` about each
 * object first (with `ctx`): what it returns replaces the object, and
 * {@linkcode KEEP} walks on into it. Copies only the arrays and objects on the way to a
 * replacement; returns `value` itself when nothing was replaced, so the
 * common case allocates nothing.
 */
function rewrite<C>(
  value: unknown,
  visit: (obj: object, ctx: C) => unknown,
  ctx: C,
): unknown {
  if (value === null || typeof value !== "object") return value;
  const replaced = visit(value, ctx);
  if (replaced !== KEEP) return replaced;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const e = rewrite(v, visit, ctx);
      if (e !== v && out === undefined) out = value.slice(0, i);
      if (out !== undefined) out.push(e);
    }
    return out ?? value;
  }
  if (!isPlainObject(value)) return value;
  let out: Record<string, unknown> | undefined;
  const rec = value as Record<string, unknown>;
  const keys = Object.keys(rec);
  for (let i = 0; i < keys.length; i++) {
    const v = rec[keys[i]];
    const e = rewrite(v, visit, ctx);
    if (e !== v && out === undefined) {
      out = {};
      for (let j = 0; j < i; j++) out[keys[j]] = rec[keys[j]];
    }
    if (out !== undefined) out[keys[i]] = e;
  }
  return out ?? value;
}

/**
 * Rebuilds the primitives that {@linkcode encodeShared} replaced. Returns
 * `value` itself when it holds no marker.
 *
 * @param value A value that crossed.
 * @returns The value with working primitives in place of markers.
 */
export function decodeShared(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = decodeShared(value[i]);
    return value;
  }
  if (!isPlainObject(value)) return value;
  const rec = value as Record<string, unknown>;
  if (typeof rec[MARK] === "string") return revive(rec as unknown as Marker);
  for (const k of Object.keys(rec)) rec[k] = decodeShared(rec[k]);
  return value;
}

function revive(marker: Marker): unknown {
  const tag = marker[MARK];
  if (uncached.has(tag)) return revivers.get(tag)!(marker.data, marker.id);
  const key = `${tag}:${marker.id}`;
  const cached = revived.get(key)?.deref();
  if (cached !== undefined) return cached;
  const reviver = revivers.get(tag);
  if (reviver === undefined) {
    throw new TypeError(
      `Cannot receive a '${tag}': this process has not loaded the module that defines it; import "@seed/multiprocessing" in it`,
    );
  }
  const obj = reviver(marker.data, marker.id) as object;
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
  const reviver = revivers.get(marker.tag);
  if (reviver === undefined) {
    throw new TypeError(
      `Cannot receive a '${marker.tag}': this process has not loaded the module that defines it; import "@seed/multiprocessing" in it`,
    );
  }
  // A reviver may remember what it builds; keep the cache as it was.
  const key = `${marker.tag}:${marker.id}`;
  const cached = revived.get(key);
  const obj = reviver(marker.data, marker.id);
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
  return holdsSharedMemory(marker.data, 0);
}

/**
 * Checks that a value about to cross to a `"subprocess"` process holds no
 * shared memory left: the parent serves this module's primitives to such
 * a child (`_served_host.ts`), but a bare SharedArrayBuffer, or a
 * primitive it cannot serve, cannot reach an OS process, which shares no
 * memory with its parent.
 *
 * @param value A value already passed through {@linkcode encodeShared}.
 * @param action What is being done, for the error message.
 * @throws {TypeError} Naming the primitive (or the SharedArrayBuffer) and
 *   suggesting a `Manager()` proxy.
 */
export function checkNoSharedMemory(value: unknown, action: string): void {
  const found = findSharedMemory(value, 0);
  if (found === null) return;
  const what = found === "" ? "a SharedArrayBuffer" : `a '${found}'`;
  throw new TypeError(
    `Cannot ${action}: ${what} cannot reach a "subprocess" process: it is shared memory, which OS processes do not share; pass a Value or Array (the parent serves those), a Manager() proxy, or use the "worker" start method`,
  );
}

/** The tag of the first marker holding shared memory ("" for a bare SAB). */
function findSharedMemory(value: unknown, depth: number): string | null {
  if (value === null || typeof value !== "object" || depth > 64) return null;
  if (
    value instanceof SharedArrayBuffer ||
    (ArrayBuffer.isView(value) && value.buffer instanceof SharedArrayBuffer)
  ) {
    return "";
  }
  if (Array.isArray(value)) {
    for (const v of value) {
      const hit = findSharedMemory(v, depth + 1);
      if (hit !== null) return hit;
    }
    return null;
  }
  if (!isPlainObject(value)) return null;
  const rec = value as Record<string, unknown>;
  if (typeof rec[MARK] === "string") {
    const tag = (rec[MARK] as string).replace(/^mp\./, "");
    return holdsSharedMemory(rec.data, 0) ? tag : null;
  }
  for (const k of Object.keys(rec)) {
    const hit = findSharedMemory(rec[k], depth + 1);
    if (hit !== null) return hit;
  }
  return null;
}

function holdsSharedMemory(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== "object" || depth > 64) return false;
  if (value instanceof SharedArrayBuffer) return true;
  if (typeof MessagePort !== "undefined" && value instanceof MessagePort) {
    return true;
  }
  if (ArrayBuffer.isView(value)) {
    return value.buffer instanceof SharedArrayBuffer;
  }
  if (Array.isArray(value)) {
    return value.some((v) => holdsSharedMemory(v, depth + 1));
  }
  if (value instanceof Map) {
    for (const [k, v] of value) {
      if (holdsSharedMemory(k, depth + 1) || holdsSharedMemory(v, depth + 1)) {
        return true;
      }
    }
    return false;
  }
  if (!isPlainObject(value)) return false;
  return Object.values(value).some((v) => holdsSharedMemory(v, depth + 1));
}
