#!/usr/bin/env node
// Entry of bomnipotent_client (see launch.js: the bundle when fresh, else the sources through tsx).
import { launch } from './launch.js';

await launch('bomnipotent_client', 'client/cli.ts');
