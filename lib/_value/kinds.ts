/**
 * What tells apart the classes on the two bases of `shared_value.ts`
 * (`RawBase` under `RawValue` and `RawArray`, `SynchronizedBase` under
 * `Value` and `Array`): each one's tag, printed name and whether it is
 * indexed; and the symbols through which a subclass reaches what its base
 * holds.
 *
 * @module
 */

/** What differs between the classes on one base. */
export interface Kind {
  /** The tag its `[kShare]()` gives (see `_launch/shareables.ts`). */
  readonly tag: string;
  /** The name `console.log` shows and errors say. */
  readonly name: string;
  /** Whether `a[i]` reads element `i` (what `new` gives is a proxy). */
  readonly indexed: boolean;
}

/** `RawValue`'s kind. */
export const RAW_VALUE: Kind = {
  tag: "mp.RawValue",
  name: "RawValue",
  indexed: false,
};
/** `RawArray`'s kind. */
export const RAW_ARRAY: Kind = {
  tag: "mp.RawArray",
  name: "RawArray",
  indexed: true,
};
/** `Value`'s kind. */
export const VALUE: Kind = { tag: "mp.Value", name: "Value", indexed: false };
/** `Array`'s kind (the class is `SharedArray`). */
export const ARRAY: Kind = { tag: "mp.Array", name: "Array", indexed: true };

/** The static member in which each subclass names its {@linkcode Kind}. */
export const kKind: unique symbol = Symbol("kind");
/** `RawBase`'s member giving its elements (`Cells`) to the subclasses. */
export const kCells: unique symbol = Symbol("cells");
/**
 * `SynchronizedBase`'s member giving its subclasses the raw object itself,
 * to delegate to (an array's proxy would cost a lookup per call).
 */
export const kRaw: unique symbol = Symbol("raw");
