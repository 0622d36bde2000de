// File sizes against the plain dump, per dataset: the product's backup file and the raw compressed contenders.
import type { Dataset } from './options';
import { median, ratio } from './stats';

/** The product's file at most this share of plain `pg_dump -Fp`, on the dataset the target names. */
export const FILE_SIZE_TARGET = { ratio: 0.25, dataset: 'documents' as Dataset };

export interface Packed {
  ms: number;
  bytes: number;
  /** bytes ÷ plain dump bytes */
  ratio: number;
}

export interface FileSizes {
  plainBytes: number;
  productBytes: number;
  /** The product file's name suffix after the database and time stamp, e.g. `.dump` or `.dump.zst`. */
  productSuffix: string;
  productRatio: number;
  zstd: Packed | null;
  gzip: Packed | null;
  /** null when the target does not apply to this dataset. */
  pass: boolean | null;
}

/** What follows `<database>_<YYYYMMDD_HHMMSS>[_N]` in a backup's name, else everything from the first dot. */
export function suffixOf(file: string): string {
  const stamped = /_\d{8}_\d{6}(?:_\d+)?(\..*)$/.exec(file);
  if (stamped) return stamped[1]!;
  const dot = file.indexOf('.');
  return dot >= 0 ? file.slice(dot) : '';
}

interface RepSizes {
  plainBytes: number;
  productBytes: number;
  productFile: string;
  zstd?: { ms: number; fileBytes: number };
  gzip?: { ms: number; fileBytes: number };
}

function packed(plain: number, runs: ({ ms: number; fileBytes: number } | undefined)[]): Packed | null {
  const done = runs.filter((r) => r !== undefined);
  if (!done.length) return null;
  const bytes = median(done.map((r) => r.fileBytes));
  return { ms: median(done.map((r) => r.ms)), bytes, ratio: ratio(bytes, plain) };
}

export function summarizeFileSizes(dataset: Dataset, reps: readonly RepSizes[]): FileSizes {
  const plainBytes = median(reps.map((r) => r.plainBytes));
  const productBytes = median(reps.map((r) => r.productBytes));
  const productRatio = ratio(productBytes, plainBytes);
  return {
    plainBytes,
    productBytes,
    productSuffix: suffixOf(reps.at(-1)?.productFile ?? ''),
    productRatio,
    zstd: packed(
      plainBytes,
      reps.map((r) => r.zstd),
    ),
    gzip: packed(
      plainBytes,
      reps.map((r) => r.gzip),
    ),
    pass: dataset === FILE_SIZE_TARGET.dataset ? productRatio <= FILE_SIZE_TARGET.ratio : null,
  };
}
