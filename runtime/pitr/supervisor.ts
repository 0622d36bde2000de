// Starts and stops continuous protection as the configuration says (at start and after each hot reload): one capture
// for the settings that ask for it, restarted when they change. The Node server uses it; Lambda never starts it.
import type { BackupTaskSettings } from '../../handlers/backup/settings';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import type { Notifier } from '../../handlers/ports/notifier';
import type { HeldWal } from '../../handlers/pitr/summary';
import { trustPolicyOf } from '../backups/backup-store';
import { startContinuousCapture, type ContinuousCapture } from './capture';

export interface CaptureSupervisor {
  apply(settings: BackupTaskSettings | undefined): Promise<void>;
  /** The replication slot as last checked, with the cap it is held to; null while capture is off or not checked. */
  slot(): HeldWal | null;
  stop(): Promise<void>;
}

export function createCaptureSupervisor(options: {
  dbUrl: string;
  logger: Logger;
  clock: Clock;
  signerFor: (settings: BackupTaskSettings) => ManifestSigner;
  notifier?: Notifier;
}): CaptureSupervisor {
  let running: { key: string; capture: ContinuousCapture; capBytes: number } | undefined;
  const keyOf = (settings: BackupTaskSettings) =>
    JSON.stringify([
      settings.directory,
      settings.continuous,
      settings.encryptionRecipients,
      settings.signingKey,
    ]);
  const stop = async () => {
    const current = running;
    running = undefined;
    await current?.capture.stop();
  };
  return {
    async apply(settings) {
      const wanted = settings?.continuous && settings.executor.kind === 'local' ? settings : undefined;
      if (wanted && running?.key === keyOf(wanted)) return;
      await stop();
      if (!wanted) return;
      const signer = () => options.signerFor(wanted);
      running = {
        key: keyOf(wanted),
        capBytes: wanted.continuous!.maxHeldWalBytes,
        capture: startContinuousCapture({
          dbUrl: options.dbUrl,
          settings: wanted,
          signer,
          trustedKeys: () => trustPolicyOf({ settings: wanted, signer }).trustedKeys,
          logger: options.logger,
          clock: options.clock,
          notifier: options.notifier,
        }),
      };
    },
    slot() {
      const status = running?.capture.slot();
      return running && status ? { heldBytes: status.heldBytes, capBytes: running.capBytes } : null;
    },
    stop,
  };
}
