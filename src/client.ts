#!/usr/bin/env node
// tyk-upgrade, the command line (package.json "bin"). The commands live in src/cli; this only runs them.
import { main } from './cli/main';

main(process.argv).then((code) => process.exit(code));
