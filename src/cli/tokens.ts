import { Command, Option } from 'commander';
import { newToken } from '../auth/tokens.js';
import { roles } from '../store/model.js';
import { printLine } from './options.js';

interface CreateOptions {
  name: string;
  role: (typeof roles)[number];
  streams?: string;
}

const createCommand = () =>
  new Command('create')
    .description(
      'make a new token: prints the entry for a token file (with its SHA-256, not the token) on stdout, and the token once on stderr',
    )
    .requiredOption('--name <name>', 'its name (stream ACLs name tokens by it)')
    .addOption(new Option('--role <role>', 'what it may do').choices([...roles]).makeOptionMandatory())
    .option('--streams <prefixes>', 'limit it to streams starting with these prefixes (comma-separated)')
    .addHelpText(
      'after',
      `
Add the printed entry to the "tokens" list of the server's token file, and hand the token to its user:
  annals tokens create --name billing --role writer --streams invoice-,payment- >> entries.ndjson`,
    )
    .action((options: CreateOptions) => {
      const { token, entry } = newToken({
        name: options.name,
        role: options.role,
        streams: options.streams?.split(',').map((prefix) => prefix.trim()),
      });
      printLine(entry);
      process.stderr.write(`token (shown once; the file keeps only its digest): ${token}\n`);
    });

export const tokensCommand = () =>
  new Command('tokens').description('make tokens for the server (no server needed)').addCommand(createCommand());
