#!/usr/bin/env node
// The kiln command. Runs the compiled CLI from dist/ (built by `npm run build`).
// `kiln --version` alone is answered here, without loading the CLI (start-up is most of its cost).
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const { readFileSync } = await import('node:fs');
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  // A closed pipe (`kiln image ls x | head`) ends the output quietly instead of crashing.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
  // A larger young generation: planning a big graph allocates many short-lived objects.
  (await import('node:v8')).setFlagsFromString('--max-semi-space-size=16');
  const { main } = await import('../dist/cli/main.js');
  await main(argv);
}
