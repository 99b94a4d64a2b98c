// Runs the batch commands as their own program, the way harness/cli.ts runs them (exitOverride,
// UsageError -> 2, anything unexpected -> 4), so that the tests drive real processes that can be
// killed and resumed, whether or not the main CLI has the commands registered.
import { Command, CommanderError } from 'commander';
import { registerBatchCommands } from '../../../harness/batch/cli.ts';
import { UsageError } from '../../../harness/projects.ts';

async function main(argv: string[]): Promise<number> {
  let result = 0;
  const program = new Command('mlsys').exitOverride();
  registerBatchCommands(program, (code) => (result = code));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return result;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError) {
      process.stderr.write(`mlsys: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`mlsys: internal error: ${e instanceof Error ? e.stack : String(e)}\n`);
    return 4;
  }
}

process.exit(await main(process.argv.slice(2)));
