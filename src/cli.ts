import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index.js';
import { UserError } from './util/errors.js';

/** Builds the `bonestream` program; every subcommand registers itself from src/commands/. */
export function buildProgram(): Command {
  const program = new Command('bonestream')
    .description('Live, zero-shot bone segmentation for B-mode ultrasound (DINO ViT features + co-segmentation).')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false })
    .exitOverride();
  for (const register of COMMANDS) register(program);
  for (const command of allCommands(program)) {
    command.exitOverride();
    for (const option of command.options) {
      if (option.mandatory && !option.description.includes('(required')) option.description += ' (required)';
    }
  }
  return program;
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((sub) => [sub, ...allCommands(sub)]);
}

/** Runs the CLI and resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit with 0; commander already printed usage errors.
      return error.exitCode;
    }
    if (error instanceof UserError) {
      process.stderr.write(`bonestream: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`bonestream: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    return 70;
  }
}
