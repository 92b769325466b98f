// Child process for the kill-and-resume test: generates with the synthetic source, args as JSON.
import { generateDataset } from '../generate.ts';
const opts = JSON.parse(process.argv[2]);
await generateDataset({ ...opts, source: new URL('./synthetic-source.ts', import.meta.url).href, quiet: true });
