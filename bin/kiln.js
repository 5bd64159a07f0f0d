#!/usr/bin/env node
// The kiln command. Runs the compiled CLI from dist/ (built by `npm run build`).
import { main } from '../dist/cli/main.js';

await main(process.argv.slice(2));
