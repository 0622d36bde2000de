// What every command gets: the merged options, an API client for them, the output, and one error handler.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { checkSecretKeyMode, sessionModeWarning } from './file-modes';
import type { Command } from 'commander';
import { ApiError, createApiClient, normalizeBaseUrl, type ApiClient } from './api';
import { createOutput, type Output } from './output';
import { mergeOptions, type GlobalOptions } from './options';
import { readSession, sessionPath } from './session';
import { existingDefaultSecretKey } from './keys';
import { runOperation } from './follow-operation';
import { createProgressBar, wantsProgressBar } from './progress-bar';
import type { ApiResponse } from './api';
import type { Route } from '../handlers/api/routes';

export interface ClientContext {
  /** Global options of this call merged over the stored session. */
  options(): GlobalOptions;
  baseUrl(): string;
  /** unsigned: for calls by someone who has no approved key yet (user request). */
  api(options?: { unsigned?: boolean }): ApiClient;
  /** The environment the client runs in (config folder location). */
  readonly env: NodeJS.ProcessEnv;
  out(): Output;
  /** Starts a long operation and follows it to its end (progress on a terminal); answers like a plain request. */
  operation(route: Route, body?: unknown): Promise<ApiResponse>;
  /** Wraps a command action: prints errors through the output and sets the exit code. */
  action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void>;
  /** The person at the terminal, when stdin and stderr are one (never in scripts, pipes or CI): ask them a question. */
  terminal(): Terminal | null;
}

export interface Terminal {
  /** Writes the question to stderr and answers the line typed back. */
  ask(question: string): Promise<string>;
}

/** stdin and stderr both a terminal: someone is there to answer. */
function processTerminal(): Terminal | null {
  if (process.stdin.isTTY !== true || process.stderr.isTTY !== true) return null;
  return {
    ask: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
  };
}

export interface ContextOptions {
  env?: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  setExitCode?: (code: number) => void;
  /** Whether stderr is a terminal (default: process.stderr.isTTY): only then is a progress bar drawn. */
  stderrIsTTY?: boolean;
  /** Who answers questions (default: the process's terminal when stdin and stderr are one; null: nobody). */
  terminal?: Terminal | null;
}

export function createContext(program: Command, ctxOptions: ContextOptions = {}): ClientContext {
  const env = ctxOptions.env ?? process.env;
  const setExitCode = ctxOptions.setExitCode ?? ((code: number) => (process.exitCode = code));
  let output: Output | undefined;

  const options = (): GlobalOptions => mergeOptions(readSession(env), program.opts<GlobalOptions>());
  const baseUrl = () => {
    const domain = options().domain;
    if (!domain) throw new Error('No server given: pass --domain <url> (or store one with `session login`).');
    return normalizeBaseUrl(domain);
  };
  const out = () => {
    if (!output) {
      const o = options();
      output = createOutput(o.outputMode ?? 'normal', o.logLevel ?? 'info', o.logFile, {
        stdout: ctxOptions.stdout ?? ((t) => process.stdout.write(t)),
        stderr: ctxOptions.stderr ?? ((t) => process.stderr.write(t)),
      });
      const warning = sessionModeWarning(sessionPath(env));
      if (warning) output.log('warn', warning);
    }
    return output;
  };
  const api = (apiOptions: { unsigned?: boolean } = {}) => {
    const o = options();
    const secretKeyPem = apiOptions.unsigned ? undefined : readSecretKey(o, env);
    const user = apiOptions.unsigned ? undefined : o.user;
    return createApiClient({ baseUrl: baseUrl(), user, secretKeyPem }, ctxOptions.fetch);
  };

  const action =
    <A extends unknown[]>(fn: (...args: A) => Promise<void>) =>
    async (...args: A) => {
      try {
        await fn(...args);
      } catch (error) {
        reportError(error);
      }
    };

  const reportError = (error: unknown) => {
    let o: Output;
    try {
      o = out();
    } catch (outputError) {
      (ctxOptions.stderr ?? ((t: string) => process.stderr.write(t)))(
        `[ERROR] ${String((outputError as Error).message)}\n`,
      );
      setExitCode(1);
      return;
    }
    setExitCode(reportTo(o, error));
  };

  const operation = (route: Route, body?: unknown) => {
    const o = options();
    const tty = ctxOptions.stderrIsTTY ?? process.stderr.isTTY === true;
    const progress = wantsProgressBar(o.outputMode ?? 'normal', o.logLevel ?? 'info', tty)
      ? createProgressBar()
      : undefined;
    return runOperation(route, body, { api: api(), out: out(), progress });
  };

  const terminal = () => (ctxOptions.terminal === undefined ? processTerminal() : ctxOptions.terminal);

  return { options, baseUrl, api, out, action, env, operation, terminal };
}

/** The secret key that signs requests: --secret-key, or with --user alone the key `user request` made. */
function readSecretKey(o: GlobalOptions, env: NodeJS.ProcessEnv): string | undefined {
  const secretKey = o.secretKey ?? (o.user ? existingDefaultSecretKey(env) : undefined);
  if (!secretKey) return undefined;
  checkSecretKeyMode(secretKey);
  try {
    return readFileSync(secretKey, 'utf8');
  } catch {
    throw new Error(`Cannot read the secret key "${secretKey}": check --secret-key.`);
  }
}

/** Prints a command's error through the output; answers the exit code. */
function reportTo(o: Output, error: unknown): number {
  if (error instanceof ApiError) {
    if (o.mode === 'code') {
      o.result(error.response, '');
      return 0; // a code came back: the caller reads it
    }
    if (o.mode === 'raw') o.result(error.response, '');
    o.log('error', error.message);
    if (error.suggestion) o.log('error', error.suggestion);
    return 1;
  }
  o.log('error', error instanceof Error ? error.message : String(error));
  return 1;
}
