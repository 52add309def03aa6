// Reference tokenizer for the parity tests: the Hugging Face tokenizer as ported to JavaScript
// (transformers.js, packaged by @lenml). Reads {"tokenizer": "<dir with tokenizer.json>",
// "texts": [...]} on stdin; writes [{"ids": [...], "decoded": "..."}] on stdout.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TokenizerLoader } from "@lenml/tokenizers";

const request = JSON.parse(readFileSync(0, "utf8"));
const tokenizer = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(readFileSync(join(request.tokenizer, "tokenizer.json"), "utf8")),
  tokenizerConfig: JSON.parse(readFileSync(join(request.tokenizer, "tokenizer_config.json"), "utf8")),
});
const results = request.texts.map((text) => {
  const ids = tokenizer.encode(text, { add_special_tokens: false });
  const decoded = ids.length === 0 ? "" : tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  return { ids, decoded };
});
process.stdout.write(JSON.stringify(results));
