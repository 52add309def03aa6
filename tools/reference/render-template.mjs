// Reference chat-template renderer for the parity tests: @huggingface/jinja, the Jinja port
// transformers.js uses. Reads {"template": "...", "cases": [{variables}, ...]} on stdin;
// writes [{"text": "..."} | {"error": "..."}] on stdout.
import { readFileSync } from "node:fs";
import { Template } from "@huggingface/jinja";

const request = JSON.parse(readFileSync(0, "utf8"));
const template = new Template(request.template);
const results = request.cases.map((variables) => {
  try {
    return { text: template.render(variables) };
  } catch (e) {
    return { error: String(e.message ?? e) };
  }
});
process.stdout.write(JSON.stringify(results));
