/**
 * What every `tidemq admin` command shares: the `-n` and `--json` options, one Admin client per run,
 * printing (a table by default, JSON with --json) and the error line. A failure prints
 * `tidemq admin: <message> (code <responseCode>)` on stderr and sets exit code 1; the client is
 * closed either way, so the process ends on its own.
 */
import { Option, type Command } from 'commander';
import { Admin } from '../../client/admin.js';
import { MQClientError } from '../../client/client-errors.js';

/** mqadmin's default: the env NAMESRV_ADDR, else a name server on this machine. */
export function defaultNamesrvAddr(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.NAMESRV_ADDR?.trim();
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : '127.0.0.1:9876';
}

export interface CommonFlags {
  namesrvAddr: string;
  json?: boolean;
}

/** What a command prints: `text` for people, `json` (with --json) for scripts. */
export interface AdminOutput {
  text: string;
  json: unknown;
}

/** Adds `-n/--namesrvAddr` and `--json` to a subcommand. */
export function withCommonOptions(command: Command): Command {
  return command
    .addOption(new Option('-n, --namesrvAddr <addr>', 'name server address(es), host:port[;host:port]').default(defaultNamesrvAddr(), 'env NAMESRV_ADDR, else 127.0.0.1:9876'))
    .option('--json', 'print JSON instead of a table');
}

/** The error line: the message and, for client errors, RocketMQ's response code. */
export function describeError(error: unknown): string {
  if (error instanceof MQClientError) return `${error.message} (code ${error.responseCode})`;
  return error instanceof Error ? error.message : String(error);
}

/** Wraps a command body into a commander action: client lifetime, output and errors. */
export function adminAction<Flags extends CommonFlags>(body: (admin: Admin, flags: Flags) => Promise<AdminOutput>): (flags: Flags) => Promise<void> {
  return async (flags) => {
    let admin: Admin | undefined;
    try {
      admin = new Admin({ namesrvAddr: flags.namesrvAddr });
      const output = await body(admin, flags);
      const printed = flags.json === true ? JSON.stringify(output.json, null, 2) : output.text;
      process.stdout.write(printed.endsWith('\n') ? printed : `${printed}\n`);
    } catch (error) {
      process.stderr.write(`tidemq admin: ${describeError(error)}\n`);
      process.exitCode = 1;
    } finally {
      await admin?.close().catch(() => undefined);
    }
  };
}
