// The client against msw: a mock server for the base URL, started and reset around each test file's tests, and the
// client program run in-process against it (no config folder: only the options given).
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { runClientProgram, type ClientRun } from './client-program';

export const BASE = 'http://bomnipotent.test';

/** An msw server for this test file: unhandled requests fail the test; handlers are reset after each test. */
export function mockServer(): ReturnType<typeof setupServer> {
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());
  return server;
}

/** bomnipotent_client -d BASE <args>, without a config folder. */
export function runAgainstMock(...args: string[]): Promise<ClientRun> {
  return runClientProgram('/nonexistent-bomnipotent-test', ['-d', BASE, ...args]);
}
