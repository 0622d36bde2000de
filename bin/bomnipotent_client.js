#!/usr/bin/env node
// Entry of bomnipotent_client: loads the TypeScript source through tsx (no build step after npm ci).
import { register } from 'tsx/esm/api';

register();
await import('../client/cli.ts');
