// What the sidecar refuses before anything runs, whatever its caller asks: another directory, a foreign file name, a
// database not its own, an off-site store not its own, an untrusted restore, a dump signed by a key it does not trust.
import { resolve } from 'node:path';
import { isBackupFileName } from '../../handlers/backup/naming';
import { AppError } from '../../handlers/errors';
import type { Logger } from '../../handlers/ports/logger';
import { invalidName } from '../executor/errors';
import { sidecarTransferSettings, type SidecarOffsite } from './offsite-transfer';
import type { SidecarOperation } from './protocol';
import type { Bodies } from './request-schemas';

export interface SidecarTrust {
  trustedKeys: string[] | undefined;
  allowUnsigned: boolean;
}

export interface GuardOptions {
  /** The one backup directory this sidecar serves. */
  directory: string;
  database: string | undefined;
  offsite: SidecarOffsite | undefined;
  trust: SidecarTrust;
  logger: Logger;
}

export interface RequestGuards {
  checkDirectory(requested: string): void;
  /** Every refusal but the directory's, in the order the sidecar has always checked them. */
  checkRequest<K extends SidecarOperation>(operation: K, body: Bodies[K]): void;
}

export function createRequestGuards(options: GuardOptions): RequestGuards {
  const { directory, logger, trust } = options;
  const checkTarget = (target: string) => {
    if (options.database !== undefined && !target.startsWith(`${options.database}_`)) {
      throw new AppError(
        'EXECUTOR.SIDECAR_DATABASE_REFUSED',
        'forbidden',
        `The executor sidecar restores only into databases named '${options.database}_...', not '${target}'.`,
      );
    }
  };
  // Refused before it runs, and logged here: a request for another store is someone trying to move the backups.
  const checkOffsite = (asked: Parameters<typeof sidecarTransferSettings>[1]) => {
    try {
      sidecarTransferSettings(options.offsite, asked);
    } catch (error) {
      logger.warn(`Refused an off-site transfer: ${(error as Error).message}`);
      throw error;
    }
  };
  return {
    checkDirectory: (requested) => {
      if (resolve(requested) !== directory) throw directoryRefused(directory, requested);
    },
    checkRequest: (operation, body) => {
      // The same refusal as the in-process executor's, but before anything runs.
      if ('file' in body && !isBackupFileName(body.file)) throw invalidName('backup file name', body.file);
      if ('targetDatabase' in body) checkTarget(body.targetDatabase);
      if ('offsite' in body) checkOffsite(body.offsite);
      if (operation === 'restore' && 'read' in body && body.read.allowUnsigned === true) {
        checkUnsigned(trust, logger);
      }
      if (operation === 'dump' && 'signerPublicKey' in body) checkSigner(trust, logger, body.signerPublicKey);
    },
  };
}

function directoryRefused(directory: string, requested: string): AppError {
  return new AppError(
    'EXECUTOR.SIDECAR_DIRECTORY_REFUSED',
    'forbidden',
    `The executor sidecar serves only the backup directory '${directory}', not '${requested}'.`,
    {
      suggestion:
        "Make the database_backup task's directory the same path as the sidecar's BOMNIPOTENT_EXECUTOR_DIRECTORY.",
    },
  );
}

// A caller asking for an untrusted restore, or signing with a key the sidecar does not trust, is refused and logged.
function checkUnsigned(trust: SidecarTrust, logger: Logger): void {
  if (trust.allowUnsigned) return;
  logger.warn('Executor sidecar: refused a restore of an untrusted file (--allow-unsigned).');
  throw new AppError(
    'EXECUTOR.SIDECAR_UNSIGNED_REFUSED',
    'forbidden',
    'The executor sidecar restores only trusted backups; it was asked to restore an untrusted file.',
    {
      suggestion:
        'To restore an unsigned or foreign file on purpose, set BOMNIPOTENT_EXECUTOR_ALLOW_UNSIGNED=true on the executor, restart it, restore, then remove the setting.',
    },
  );
}

function checkSigner(trust: SidecarTrust, logger: Logger, publicKey: string): void {
  if (trust.trustedKeys === undefined || trust.trustedKeys.includes(publicKey)) return;
  logger.warn(`Executor sidecar: refused a dump signed by ${publicKey}, which it does not trust.`);
  throw new AppError(
    'EXECUTOR.SIDECAR_SIGNER_REFUSED',
    'forbidden',
    `The executor sidecar does not trust the key ${publicKey} that would sign this backup.`,
    {
      suggestion:
        "Add the server's backup-signing public key (logged at every start) to the executor's BOMNIPOTENT_EXECUTOR_TRUSTED_KEYS.",
    },
  );
}
