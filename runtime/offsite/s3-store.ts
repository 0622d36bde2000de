// The OffsiteStore port on S3-compatible object storage (AWS SDK v3): list, upload, read, download, remove.
import type { S3Client } from '@aws-sdk/client-s3';
import { loadSdk, type Sdk } from './sdk';
import type {
  OffsiteBackup,
  OffsiteListing,
  OffsiteRemoval,
  OffsiteSettings,
} from '../../handlers/offsite/model';
import type { OffsiteStore } from '../../handlers/ports/offsite-store';
import { formatOffsiteLocation } from '../../handlers/offsite/location';
import { classifyOffsiteError } from './errors';
import { MARK, type OffsiteNaming } from './naming';
import { MIN_PART_BYTES } from './part-size';
import { createS3Client, DEFAULT_TIMEOUTS, type S3ClientTimeouts } from './s3-client';
import { downloadBackup, getObjectBytes } from './s3-download';
import { head, uploadBackup } from './s3-upload';

export interface S3StoreOptions {
  sdk: Sdk;
  settings: OffsiteSettings;
  naming: OffsiteNaming;
  now?: () => Date;
  timeouts?: S3ClientTimeouts;
  /** The backup directory uploads read from and downloads write into (where this process sees the files). */
  directory: string;
  minPartBytes?: number; // tests make multipart uploads with small files
  queueSize?: number; // parts in flight; memory in use is about queueSize × part size
}

export function createS3OffsiteStore(options: S3StoreOptions): OffsiteStore & { client: S3Client } {
  const { settings, naming } = options;
  const client = createS3Client(options.sdk, settings, options.timeouts ?? DEFAULT_TIMEOUTS);
  const location = formatOffsiteLocation(settings);
  const now = options.now ?? (() => new Date());
  const ctx = { client, settings, location, sdk: options.sdk };
  return {
    client,
    location,
    list: () =>
      listBackups(ctx, naming).catch((error: unknown) => {
        throw classifyOffsiteError(error, location, 'listing');
      }),
    upload: (request) =>
      uploadBackup(
        {
          ...ctx,
          now,
          minPartBytes: options.minPartBytes ?? MIN_PART_BYTES,
          queueSize: options.queueSize ?? 2,
        },
        { ...request, directory: options.directory },
      ),
    readManifest: (manifestFile) => getObjectBytes(ctx, manifestFile, 1024 * 1024),
    download: (request) => downloadBackup(ctx, { ...request, directory: options.directory }),
    remove: (backup) =>
      removeBackup(ctx, backup, now()).catch((error: unknown) => {
        throw classifyOffsiteError(error, location, `removing ${backup.file}`);
      }),
  };
}

interface StoreContext {
  client: S3Client;
  sdk: Sdk;
  settings: OffsiteSettings;
  location: string;
}

async function listBackups(ctx: StoreContext, naming: OffsiteNaming): Promise<OffsiteListing> {
  const data = new Map<string, number>();
  const manifests = new Map<string, Date>();
  const foreign: string[] = [];
  let token: string | undefined;
  do {
    const page = await ctx.client.send(
      new ctx.sdk.ListObjectsV2Command({
        Bucket: ctx.settings.bucket,
        Prefix: ctx.settings.prefix,
        ContinuationToken: token,
      }),
    );
    for (const object of page.Contents ?? []) {
      const name = (object.Key ?? '').slice(ctx.settings.prefix.length);
      if (naming.ownedElsewhere?.(name)) continue;
      const owner = naming.dataFileOf(name);
      if (!name.includes('/') && naming.isDataFile(name)) data.set(name, object.Size ?? 0);
      else if (!name.includes('/') && owner !== null)
        manifests.set(owner, object.LastModified ?? new Date(0));
      else foreign.push(name);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const backups: OffsiteBackup[] = [];
  const incomplete: string[] = [];
  for (const [file, sizeBytes] of data) {
    const committed = manifests.get(file);
    if (committed === undefined) incomplete.push(file);
    else
      backups.push({
        file,
        manifestFile: naming.manifestFor(file),
        sizeBytes,
        lastModified: committed.toISOString(),
      });
  }
  // A manifest whose data object is gone is no backup either; it is shown, never used.
  for (const file of manifests.keys()) if (!data.has(file)) incomplete.push(naming.manifestFor(file));
  return { backups, incomplete, foreign };
}

async function removeBackup(
  ctx: StoreContext,
  backup: { file: string; manifestFile: string },
  now: Date,
): Promise<OffsiteRemoval> {
  const keys = [backup.manifestFile, backup.file].map((name) => `${ctx.settings.prefix}${name}`);
  const heads = await Promise.all(keys.map((key) => head(ctx, key)));
  // Only what this product wrote (its mark in the object metadata) is ever deleted.
  if (heads.some((h) => h !== null && h.mark !== MARK.manifest && h.mark !== MARK.data)) return 'not-ours';
  if (heads.some((h) => h !== null && h.lockedUntil !== null && h.lockedUntil > now)) return 'locked';
  for (const key of keys) {
    // The manifest goes first: a removal cut off halfway leaves an incomplete object, never a half backup.
    await ctx.client.send(new ctx.sdk.DeleteObjectCommand({ Bucket: ctx.settings.bucket, Key: key }));
  }
  return 'removed';
}

/** The store as the server and the sidecar use it: the SDK is loaded by the first call that needs the store. */
export function createLazyS3OffsiteStore(options: Omit<S3StoreOptions, 'sdk'>): OffsiteStore {
  let store: Promise<OffsiteStore> | undefined;
  const get = () => (store ??= loadSdk().then((sdk) => createS3OffsiteStore({ ...options, sdk })));
  return {
    location: formatOffsiteLocation(options.settings),
    list: async () => (await get()).list(),
    upload: async (request) => (await get()).upload(request),
    readManifest: async (name) => (await get()).readManifest(name),
    download: async (request) => (await get()).download(request),
    remove: async (backup) => (await get()).remove(backup),
  };
}
