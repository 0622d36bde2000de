// Which keys under the prefix are ours: the backup format's data files and their manifests, directly under it.
export interface OffsiteNaming {
  isDataFile(name: string): boolean;
  manifestFor(file: string): string;
  /** The data file a manifest belongs to, or null when `name` is no manifest name. */
  dataFileOf(name: string): string | null;
  /** Keys under the prefix that another store of ours owns (continuous protection's `pitr/`): not listed at all. */
  ownedElsewhere?(name: string): boolean;
}

/** Object metadata that marks what this product wrote (checked before any deletion). */
export const MARK = { key: 'bomnipotent-backup', data: 'data', manifest: 'manifest' } as const;
export const SHA256_KEY = 'bomnipotent-sha256';
export const RETAIN_UNTIL_KEY = 'bomnipotent-retain-until';

export function manifestNaming(isDataFile: (name: string) => boolean, manifestSuffix: string): OffsiteNaming {
  return {
    isDataFile,
    manifestFor: (file) => `${file}${manifestSuffix}`,
    dataFileOf: (name) => {
      if (!name.endsWith(manifestSuffix)) return null;
      const file = name.slice(0, -manifestSuffix.length);
      return isDataFile(file) ? file : null;
    },
  };
}
