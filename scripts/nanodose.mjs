#!/usr/bin/env node
// The `nanodose` command: registers tsx so the TypeScript sources run as they are, then hands over to
// the CLI. h5wasm stays out of tsx's transform by the URL it is imported with (datasets/formats/hdf5/emd.ts H5WASM_URL).
import { register } from 'tsx/esm/api';
register();
await import('./cli.ts');
