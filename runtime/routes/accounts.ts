// Account routes (user requests, approvals, roles, who-am-i). Owned by the accounts work; wired in runtime/app.ts.
import type { Hono } from 'hono';
import type { AppEnv } from '../http-env';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface AccountRouteDeps {}

export function registerAccountRoutes(_app: Hono<AppEnv>, _deps: AccountRouteDeps): void {}
