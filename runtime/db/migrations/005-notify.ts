import type { Migration } from './types';

export const notify: Migration = {
  version: 5,
  name: 'notify',
  sql: `
    -- Notifications waiting to be delivered: kept until a channel took them or they expired, so that a restart or a
    -- SIGKILL loses none; one replica sends each (claimed with FOR UPDATE SKIP LOCKED, then leased until claimed_until).
    CREATE TABLE notify_outbox (
      id bigserial PRIMARY KEY,
      channel text NOT NULL,
      message jsonb NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      next_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      claimed_until timestamptz,
      last_error text,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX notify_outbox_due ON notify_outbox (next_at);
    -- The problems each channel was told of: one message, reminders at the channel's interval, then "recovered".
    CREATE TABLE notify_problems (
      channel text NOT NULL,
      problem text NOT NULL,
      opened_at timestamptz NOT NULL DEFAULT now(),
      last_sent_at timestamptz NOT NULL DEFAULT now(),
      message jsonb NOT NULL,
      PRIMARY KEY (channel, problem)
    );
  `,
};
