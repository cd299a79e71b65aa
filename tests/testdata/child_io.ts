/**
 * Helpers for tests that talk to OS children through their streams:
 * reading lines and chunks, writing text, checkable byte patterns, and
 * whether a pid still exists.
 */
import { assert } from "@std/assert";
import { call } from "../../lib/subprocess.ts";

const decoder = new TextDecoder();

/** Splits a byte stream into lines (without their "\n"). */
export async function* lines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let buffered = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    buffered += text;
    let end;
    while ((end = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
    }
  }
  if (buffered) yield buffered;
}

/** Reads one chunk and decodes it (for line-at-a-time children). */
export async function readText(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<string> {
  const { done, value } = await reader.read();
  assert(!done, "the stream ended early");
  return decoder.decode(value);
}

/** Writes text to a writer. */
export async function send(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  text: string,
): Promise<void> {
  await writer.write(new TextEncoder().encode(text));
}

/** A pattern of `size` bytes that is easy to check. */
export function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

/** Whether a process with this pid exists (asks `kill -0`). */
export async function processExists(pid: number): Promise<boolean> {
  const code = await call(["sh", "-c", `kill -0 ${pid} 2>/dev/null`]);
  return code === 0;
}
