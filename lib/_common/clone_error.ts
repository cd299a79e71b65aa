/**
 * What to say when a value cannot be sent to another process: a
 * `postMessage` that throws `DataCloneError` names no culprit, so each
 * value sent is tried alone to find the one to name.
 *
 * @module
 */

/** A value that was sent, with the words that name it ("argument 0"). */
type SentValue = readonly [what: string, value: unknown];

/**
 * Explains a failed send: the first of `values` that cannot be cloned
 * is named, with why.
 *
 * @param err What the send threw (kept as the `cause`).
 * @param values The values sent, in order, each with its name.
 * @param phrase Words the message: `what` names the culprit, or is `null`
 *   when every value clones alone (then `why` is `err`'s message).
 * @returns The error to throw or reject with.
 */
export function describeCloneError(
  err: unknown,
  values: Iterable<SentValue>,
  phrase: (what: string | null, why: string) => string,
): TypeError {
  for (const [what, value] of values) {
    try {
      structuredClone(value);
    } catch (e) {
      return new TypeError(phrase(what, messageOf(e)), { cause: err });
    }
  }
  return new TypeError(phrase(null, messageOf(err)), { cause: err });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
