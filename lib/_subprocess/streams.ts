/**
 * The byte streams of a child: reading a pipe to its end (`drain`),
 * writing input and closing (`feed`), copying to our stdout, and merging
 * stderr into stdout in arrival order (`stderr: STDOUT`).
 *
 * @module
 */

export async function drain(
  reader: ReadableStreamDefaultReader<Uint8Array> | undefined,
  chunks: Uint8Array[],
): Promise<void> {
  if (reader === undefined) return;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
}

export async function feed(
  writer: WritableStreamDefaultWriter<Uint8Array> | undefined,
  input: Uint8Array | undefined,
): Promise<void> {
  if (writer === undefined) return;
  try {
    if (input !== undefined && input.length > 0) await writer.write(input);
    await writer.close();
  } catch (error) {
    // The child closed its stdin (or ended) before reading everything:
    // Python ignores this too; the exit code tells the story.
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
    await writer.abort().catch(() => {});
  } finally {
    writer.releaseLock();
  }
}

export async function copyToStdout(
  stream: ReadableStream<Uint8Array>,
): Promise<void> {
  try {
    for await (const chunk of stream) {
      let written = 0;
      while (written < chunk.length) {
        written += await Deno.stdout.write(chunk.subarray(written));
      }
    }
  } catch {
    // Our stdout is gone; the child's output has nowhere to go.
  }
}

/**
 * One stream of the chunks of `a` and `b` in the order they arrive (how
 * `stderr: STDOUT` works without a shared pipe). Each source has at most
 * one read in flight; a new one starts only when the consumer pulls, so
 * backpressure reaches the child.
 */
export function mergeStreams(
  a: ReadableStream<Uint8Array>,
  b: ReadableStream<Uint8Array>,
): ReadableStream<Uint8Array> {
  type Arrival = {
    reader: ReadableStreamDefaultReader<Uint8Array>;
    result?: ReadableStreamReadResult<Uint8Array>;
    error?: unknown;
    failed: boolean;
  };
  const readers = [a.getReader(), b.getReader()];
  let open = readers.length;
  const arrived: Arrival[] = [];
  let wake: (() => void) | null = null;

  function readNext(reader: ReadableStreamDefaultReader<Uint8Array>): void {
    reader.read().then(
      (result) => arrived.push({ reader, result, failed: false }),
      (error) => arrived.push({ reader, error, failed: true }),
    ).finally(() => wake?.());
  }

  return new ReadableStream<Uint8Array>({
    start() {
      for (const reader of readers) readNext(reader);
    },
    async pull(controller) {
      while (open > 0) {
        const next = arrived.shift();
        if (next === undefined) {
          await new Promise<void>((resolve) => wake = resolve);
          wake = null;
          continue;
        }
        if (next.failed) {
          await Promise.allSettled(readers.map((r) => r.cancel()));
          throw next.error;
        }
        if (next.result!.done) {
          open--;
          continue;
        }
        readNext(next.reader);
        controller.enqueue(next.result!.value);
        return;
      }
      controller.close();
    },
    async cancel(reason) {
      await Promise.allSettled(readers.map((r) => r.cancel(reason)));
    },
  });
}
