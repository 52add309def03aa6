// Validates documents against JSON schemas with Ajv (draft 2020-12, with ajv-formats), the
// reference the constrained-decoding tests check the server's output against.
// stdin: [{ "schema": {...}, "documents": ["<json text>", ...] }, ...]
// stdout: [[{ "valid": bool, "errors": "..." }, ...], ...]
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const input = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => (text += chunk));
  process.stdin.on("end", () => resolve(text));
}));

const ajv = new Ajv2020({ strict: false, allErrors: false });
addFormats(ajv);
const results = input.map(({ schema, documents }) => {
  const validate = ajv.compile(schema);
  return documents.map((text) => {
    let value;
    try {
      value = JSON.parse(text);
    } catch (e) {
      return { valid: false, errors: `not JSON: ${e.message}` };
    }
    const valid = validate(value);
    return { valid, errors: valid ? "" : ajv.errorsText(validate.errors) };
  });
});
process.stdout.write(JSON.stringify(results));
