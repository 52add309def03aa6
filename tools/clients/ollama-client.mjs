// Drives a daemon through the ollama npm client (ollama-js), as plant tools that speak Ollama's
// API would. stdin: { "host": "http://127.0.0.1:PORT", "model": "...", "schema": {...} }
// stdout: what each call returned, for the agent tests to check.
import { Ollama } from "ollama";

const input = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => (text += chunk));
  process.stdin.on("end", () => resolve(text));
}));
const ollama = new Ollama({ host: input.host });
const out = {};

out.version = await (await fetch(`${input.host}/api/version`)).json();
out.list = await ollama.list();
out.show = await ollama.show({ model: `${input.model}:latest` });

out.generate = await ollama.generate({ model: input.model, prompt: "The machine status is", raw: true, stream: false, options: { num_predict: 8, temperature: 0 } });
let streamed = "", parts = 0, last = null;
for await (const part of await ollama.generate({ model: input.model, prompt: "The machine status is", raw: true, stream: true, options: { num_predict: 8, temperature: 0 } })) {
  streamed += part.response;
  parts += 1;
  last = part;
}
out.generateStream = { text: streamed, parts, last };

const messages = [{ role: "user", content: "Which valve should close? Answer as JSON." }];
out.chatSchema = [];
for (let seed = 0; seed < 3; seed++) {
  let content = "", final = null;
  for await (const part of await ollama.chat({ model: input.model, messages, format: input.schema, stream: true, options: { num_predict: 80, temperature: 1.2, seed } })) {
    content += part.message.content;
    final = part;
  }
  const whole = await ollama.chat({ model: input.model, messages, format: input.schema, stream: false, options: { num_predict: 80, temperature: 1.2, seed } });
  out.chatSchema.push({ streamed: content, whole: whole.message.content, doneReason: final.done_reason, evalCount: final.eval_count });
}
out.chatJson = (await ollama.chat({ model: input.model, messages, format: "json", stream: false, options: { num_predict: 60, temperature: 1.2, seed: 9 } })).message.content;

try {
  await ollama.chat({ model: "no-such-model", messages, stream: false });
  out.unknownModel = { error: null };
} catch (e) {
  out.unknownModel = { error: e.error ?? e.message, status: e.status_code };
}
try {
  await ollama.chat({ model: input.model, messages, stream: false, options: { mirostat: 2 } });
  out.badOption = { error: null };
} catch (e) {
  out.badOption = { error: e.error ?? e.message, status: e.status_code };
}
process.stdout.write(JSON.stringify(out));
