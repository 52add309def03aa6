// Drives a daemon through the openai npm client, as equipment written for OpenAI's API would.
// stdin: { "baseURL": "http://127.0.0.1:PORT/v1", "model": "...", "schema": {...} }
// stdout: what each call returned, for the agent tests to check.
import OpenAI from "openai";

const input = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => (text += chunk));
  process.stdin.on("end", () => resolve(text));
}));
const client = new OpenAI({ baseURL: input.baseURL, apiKey: "unused-on-loopback", maxRetries: 0 });
const out = {};

out.models = (await client.models.list()).data.map((m) => m.id);
out.model = await client.models.retrieve(input.model);
const messages = [{ role: "user", content: "Which valve should close? Answer as JSON." }];
const response_format = { type: "json_schema", json_schema: { name: "valve_order", strict: true, schema: input.schema } };
out.schema = [];
for (let seed = 0; seed < 3; seed++) {
  const whole = await client.chat.completions.create({ model: input.model, messages, response_format, max_tokens: 80, temperature: 1.2, seed });
  let streamed = "";
  for await (const chunk of await client.chat.completions.create({ model: input.model, messages, response_format, max_tokens: 80, temperature: 1.2, seed, stream: true })) {
    streamed += chunk.choices[0]?.delta?.content ?? "";
  }
  out.schema.push({ whole: whole.choices[0].message.content, streamed, finish: whole.choices[0].finish_reason });
}
out.regex = (await client.completions.create({ model: input.model, prompt: "Valve 12 is leaking. Order:", max_tokens: 16, temperature: 1.5, seed: 4, guided_regex: "V-[0-9]{2,3} (open|close)" })).choices[0].text;
for (const [name, call] of [
  ["unknownModel", () => client.chat.completions.create({ model: "gpt-4o", messages })],
  ["badSchema", () => client.chat.completions.create({ model: input.model, messages, response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "string", format: "email" } } } })],
]) {
  try {
    await call();
    out[name] = { error: null };
  } catch (e) {
    out[name] = { status: e.status, message: e.error?.message ?? e.message, code: e.code ?? null };
  }
}
process.stdout.write(JSON.stringify(out));
