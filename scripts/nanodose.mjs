#!/usr/bin/env node
// The `nanodose` command: registers tsx so the TypeScript sources run as they are, then the hook that
// keeps h5wasm out of tsx's transform (scripts/plain-modules.mjs), then hands over to the CLI.
import { register } from 'tsx/esm/api';
register();
await import('./plain-modules.mjs');
await import('./cli.ts');
