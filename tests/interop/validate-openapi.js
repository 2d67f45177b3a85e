// Validates the OpenAPI document on stdin against the official schema of its version, with
// @seriousme/openapi-schema-validator. Prints {"valid", "version", "errors"} as one JSON line;
// exit code 0 when valid, 1 when not.
import { Validator } from "@seriousme/openapi-schema-validator";

let input = "";
for await (const chunk of process.stdin) {
  input += chunk;
}
const validator = new Validator();
const result = await validator.validate(JSON.parse(input));
console.log(JSON.stringify({
  valid: result.valid,
  version: validator.version ?? null,
  errors: result.errors ?? null,
}));
process.exit(result.valid ? 0 : 1);
