// The Vercel AI SDK's generateObject() with a zod schema (response_format json_schema).
import { createOpenAI } from "@ai-sdk/openai";
import { generateObject } from "ai";
import { z } from "zod";
import { API_KEY, GATEWAY_URL, MODEL, run } from "./common.mjs";

await run(async () => {
  const provider = createOpenAI({ baseURL: `${GATEWAY_URL}/v1`, apiKey: API_KEY });
  const result = await generateObject({
    model: provider.chat(MODEL),
    schema: z.object({ name: z.string(), population: z.number().int() }),
    prompt: 'fake:text:{"name": "Paris", "population": 2100000}',
    maxRetries: 0,
  });
  return { object: result.object, finishReason: result.finishReason, usage: result.usage };
});
