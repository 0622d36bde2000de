// `database-backup notify-test`: a test message to every [[notify]] channel at once, each one's result reported.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import type { NotifyChannel } from './channel';
import { toMessage } from './message';
import type { Send } from './send';

export interface TestResult {
  channel: string;
  ok: boolean;
  error: string | null;
}

export async function sendTestMessages(deps: {
  channels: readonly NotifyChannel[];
  send: Send;
  server: string | null;
  clock: Clock;
  logger: Logger;
  user: string;
}): Promise<TestResult[]> {
  const message = toMessage(
    {
      kind: 'test',
      severity: 'info',
      database: null,
      backup: null,
      reason: `A test message, sent by ${deps.user} with database-backup notify-test.`,
      suggestion: null,
      user: deps.user,
    },
    'test',
    { id: randomUUID(), server: deps.server, at: deps.clock.now() },
  );
  return Promise.all(
    deps.channels.map(async (channel) => {
      try {
        await deps.send(channel, message);
        deps.logger.info(`Test notification sent to ${channel.label} (asked by ${deps.user}).`);
        return { channel: channel.label, ok: true, error: null };
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        deps.logger.warn(`Test notification to ${channel.label} failed: ${reason}`);
        return { channel: channel.label, ok: false, error: reason };
      }
    }),
  );
}
