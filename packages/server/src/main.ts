// The only place that reads process.env: runs the `sesame` command.
import { runCli } from './cli/main.ts';

const code = await runCli(process.argv.slice(2), process.env, {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
process.exitCode = code;
