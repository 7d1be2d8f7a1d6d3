#!/usr/bin/env node
// tyk-upgrade, the command line (package.json "bin"). The commands live in src/cli; this only runs them.
import { main } from './cli/main';

// `tyk-upgrade status x | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv).then((code) => process.exit(code));
