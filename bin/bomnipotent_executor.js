#!/usr/bin/env node
// Entry of bomnipotent_executor (see launch.js: the bundle when fresh, else the sources through tsx).
import { launch } from './launch.js';

await launch('bomnipotent_executor', 'runtime/sidecar/main.ts');
