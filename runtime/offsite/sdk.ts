// The AWS SDK, loaded on first use: a server without `offsite` never pays its start-up time and ~25 MB.
import type * as ClientS3 from '@aws-sdk/client-s3';
import type * as LibStorage from '@aws-sdk/lib-storage';

export type Sdk = typeof ClientS3 & { Upload: typeof LibStorage.Upload };

let loaded: Promise<Sdk> | undefined;

export function loadSdk(): Promise<Sdk> {
  loaded ??= Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')]).then(
    ([s3, storage]) => ({ ...s3, Upload: storage.Upload }),
  );
  return loaded;
}
