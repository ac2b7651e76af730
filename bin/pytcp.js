#!/usr/bin/env node
'use strict';
let cli;
try {
  cli = require('../dist/lib/cli.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('dist/lib/cli.js')) {
    process.stderr.write('pytcp: not built yet: run `npm run build` in the package first\n');
    process.exit(1);
  }
  throw err;
}
cli.main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // Exit on our own once the stack has let go; the guard fires only if something still holds the loop.
  setTimeout(() => process.exit(code), 2000).unref();
});
