/**
 * Runs a function shipped by its source, inside a local pool worker of a
 * worker host started with `--allow-source` (never in the host itself).
 *
 * @module
 */

import { TaskMode } from "../_launch/protocol.ts";
import { explainShippingError, loadFunction } from "../_launch/shipping.ts";

/**
 * Rebuilds `source` and applies it as the task's mode says.
 *
 * @param name The function's name.
 * @param source Its source.
 * @param mode How to apply it.
 * @param args Arguments, or the chunk of items.
 * @param kwargs Keyword arguments.
 * @returns The result (an array for a chunk).
 */
export async function runSource(
  name: string,
  source: string,
  mode: TaskMode,
  args: unknown[],
  kwargs?: Record<string, unknown>,
): Promise<unknown> {
  const fn = await loadFunction({ name, source, modules: [], byName: false });
  try {
    if (mode === TaskMode.Apply) {
      return await fn(...args, ...(kwargs === undefined ? [] : [kwargs]));
    }
    const out: unknown[] = [];
    for (const item of args) {
      out.push(
        await (mode === TaskMode.Map ? fn(item) : fn(...(item as unknown[]))),
      );
    }
    return out;
  } catch (err) {
    throw explainShippingError(err, fn);
  }
}
