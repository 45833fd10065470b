/**
 * Registers `tidemq admin <command>` on the CLI: RocketMQ's mqadmin commands under the same names
 * and flags, so habits carry over (`tidemq admin updateTopic -n 127.0.0.1:9876 -t Orders`), built on
 * the client's Admin class. Tables by default, `--json` for scripts; a failure prints
 * `tidemq admin: <message> (code <responseCode>)` and exits 1. See docs/cli.md.
 */
import type { Command } from 'commander';
import { registerClusterCommands } from './cluster-commands.js';
import { registerGroupCommands } from './group-commands.js';
import { registerMessageCommands } from './message-commands.js';
import { registerTopicCommands } from './topic-commands.js';

export function registerAdminCommand(program: Command): void {
  const admin = program
    .command('admin')
    .description('administer topics, groups, offsets and messages (mqadmin commands; -n <namesrv>, --json)');
  registerTopicCommands(admin);
  registerGroupCommands(admin);
  registerMessageCommands(admin);
  registerClusterCommands(admin);
}
