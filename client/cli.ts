// bomnipotent_client's entry: parse argv and run; every command reports its own errors through client/output.
import { CommanderError } from 'commander';
import { buildProgram } from './program';

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
}
