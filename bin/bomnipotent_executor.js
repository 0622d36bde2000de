#!/usr/bin/env node
// Entry of bomnipotent_executor: loads the TypeScript source through tsx (no build step after npm ci).
import { register } from 'tsx/esm/api';

register();
await import('../runtime/executor/sidecar-main.ts');
