// A WAL location (LSN, "16/B374D848") as the segment file that holds it, for 16 MB segments.
import { segmentName } from '../../handlers/pitr/window';

const SEGMENT_BYTES = 16 * 1024 * 1024;

export function lsnSegment(lsn: string, timeline: number): string {
  const [high, low] = lsn.split('/').map((part) => parseInt(part, 16));
  return segmentName(timeline, high! * 256 + Math.floor(low! / SEGMENT_BYTES));
}
