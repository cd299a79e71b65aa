/**
 * Byte helpers shared by the child channel and the subprocess API.
 *
 * @module
 */

/**
 * Joins byte chunks into one array (the chunk itself when there is one).
 *
 * @param chunks The chunks, in order.
 * @returns Their bytes, back to back.
 */
export function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}
