#!/usr/bin/env node
// Entry of bomnipotent_server (see launch.js: the bundle when fresh, else the sources through tsx).
import { launch } from './launch.js';

await launch('bomnipotent_server', 'runtime/node.ts');
