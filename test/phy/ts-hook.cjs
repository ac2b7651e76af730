// Lets a plain `node` child process require the TypeScript sources (for tests that must
// run the code in a process of their own: without capabilities, or to watch it exit).
// Transpile only, no type checking: `npx tsc --noEmit` does that.
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  module._compile(outputText, filename);
};
