// Runs the Khronos glTF-Validator on each .glb/.gltf given and prints one JSON line per file:
// {"path", "errors", "warnings", "infos", "messages": [{code, severity, message, pointer}]}.
// Usage: node validate-gltf.mjs FILE...
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import validator from 'gltf-validator';

for (const path of process.argv.slice(2)) {
  const report = await validator.validateBytes(new Uint8Array(readFileSync(path)), {
    uri: path,
    maxIssues: 200,
    externalResourceFunction: (uri) => new Promise((resolve, reject) => {
      try { resolve(new Uint8Array(readFileSync(join(dirname(path), decodeURIComponent(uri))))); }
      catch (err) { reject(err.toString()); }
    }),
  });
  const issues = report.issues;
  console.log(JSON.stringify({
    path, errors: issues.numErrors, warnings: issues.numWarnings, infos: issues.numInfos,
    messages: issues.messages.map((m) => ({ code: m.code, severity: m.severity, message: m.message, pointer: m.pointer })),
  }));
}
