// Multipart sizing: parts grow with the file so that a backup never needs more than S3's 10,000 parts.
export const MIN_PART_BYTES = 8 * 1024 * 1024; // above S3's 5 MiB minimum
export const MAX_PARTS = 10_000;
const MIB = 1024 * 1024;

/** Whole MiB, at least minBytes, and at most MAX_PARTS parts for sizeBytes (memory in use: queue size × part size). */
export function partSizeFor(sizeBytes: number, minBytes = MIN_PART_BYTES): number {
  const needed = Math.ceil(sizeBytes / MAX_PARTS);
  return Math.max(minBytes, Math.ceil(needed / MIB) * MIB);
}
