import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Command, CommanderError } from 'commander';
import { config as loadDotEnv } from 'dotenv';
import { CancelledError, errorMessage, exitCodeOf, UserError } from '../core/errors.js';
import { doctorCommand } from './doctor-command.js';
import { modelsCommand } from './models-command.js';
import { renderCommand } from './render-command.js';
import { upscaleCommand } from './upscale-command.js';
import { webCommand } from './web-command.js';

/** Exit codes of the `imagine` command line: 0 done, 1 an internal failure, 2 bad input (nothing written). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_BAD_INPUT = 2;

/** The version in package.json, the one `npm` and the chat bot's logs know. */
function packageVersion(): string {
  const found = z.object({ version: z.string() }).safeParse(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')));
  return found.success ? found.data.version : 'unknown';
}

export function buildProgram(): Command {
  const program = new Command('imagine')
    .description('text to image with SDXL-Turbo and Stable Diffusion on onnxruntime')
    .version(packageVersion(), '-V, --version', 'print the version')
    .addCommand(renderCommand())
    .addCommand(upscaleCommand())
    .addCommand(modelsCommand())
    .addCommand(doctorCommand())
    .addCommand(webCommand());
  throwInsteadOfExiting(program);
  return program;
}

/**
 * Every command and subcommand (`models convert` too) reports a usage mistake by throwing, so that it exits with
 * EXIT_BAD_INPUT, with its usage at the end of commander's one-line message. addCommand does not pass these
 * settings down, so they are set on the whole tree.
 */
function throwInsteadOfExiting(command: Command): void {
  command.exitOverride();
  // One line, as every error of the command line: commander's message, then the usage.
  command.configureOutput({ outputError: (message, write) => { write(`${message.trimEnd()} (usage: ${commandPath(command)} ${command.usage()})\n`); } });
  for (const subcommand of command.commands) throwInsteadOfExiting(subcommand);
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at !== null; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

export async function runCli(argv: readonly string[]): Promise<number> {
  loadDotEnv({ quiet: true });
  try {
    await buildProgram().parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has already printed its one line (or the help text).
      return error.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
    }
    if (error instanceof UserError) {
      process.stderr.write(`error: ${error.message}\n`);
      return exitCodeOf(error) === 2 ? EXIT_BAD_INPUT : EXIT_FAILURE;
    }
    if (error instanceof CancelledError) {
      process.stderr.write('cancelled\n');
      return EXIT_FAILURE;
    }
    process.stderr.write(`internal error: ${errorMessage(error)}\n`);
    if (error instanceof Error && error.stack !== undefined && process.env.DEBUG !== undefined) process.stderr.write(`${error.stack}\n`);
    return EXIT_FAILURE;
  }
}

process.exitCode = await runCli(process.argv.slice(2));
