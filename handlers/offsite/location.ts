// `offsite = "s3://<bucket>/<prefix>"`: parsed and checked once by the config, so that no key can leave the prefix.

export interface OffsiteLocation {
  bucket: string;
  prefix: string; // '' or ends with '/'
}

// S3's rules for bucket names (lowercase letters, digits, dots, hyphens; 3-63; starts and ends alphanumeric).
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
// Printable ASCII only (no control characters, no backslash): keys stay readable and identical on every store.
const SEGMENT = /^[A-Za-z0-9!\-_.*'()+=,@~]+$/;

/** The location, or a sentence saying what is wrong with it (for the config error). */
export function parseOffsiteLocation(text: string): OffsiteLocation | string {
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/s.exec(text);
  if (!match) return 'must look like "s3://<bucket>/<prefix>", for example "s3://my-backups/bomnipotent/"';
  const bucket = match[1] ?? '';
  const rawPrefix = match[2] ?? '';
  if (!BUCKET.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    return `has the bucket name "${bucket}", which is not a valid S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens)`;
  }
  const trimmed = rawPrefix.endsWith('/') ? rawPrefix.slice(0, -1) : rawPrefix;
  if (trimmed === '') return { bucket, prefix: '' };
  for (const segment of trimmed.split('/')) {
    if (segment === '') return 'has an empty segment ("//") in its prefix: remove the doubled slash';
    if (segment === '.' || segment === '..') {
      return `has "${segment}" as a segment of its prefix: name the prefix plainly, for example "s3://${bucket}/bomnipotent/"`;
    }
    if (!SEGMENT.test(segment)) {
      return `has the prefix segment "${segment}" with characters other than letters, digits and !-_.*'()+=,@~`;
    }
  }
  return { bucket, prefix: `${trimmed}/` };
}

export function formatOffsiteLocation(location: OffsiteLocation): string {
  return `s3://${location.bucket}/${location.prefix}`;
}
