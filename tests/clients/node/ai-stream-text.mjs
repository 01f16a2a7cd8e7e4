// The Vercel AI SDK's streamText(): the text as it streams, then `usage` (from the final chunk
// of stream_options.include_usage).
import { createOpenAI } from "@ai-sdk/openai";
import { streamText } from "ai";
import { API_KEY, GATEWAY_URL, MODEL, run } from "./common.mjs";

await run(async () => {
  const provider = createOpenAI({ baseURL: `${GATEWAY_URL}/v1`, apiKey: API_KEY });
  const result = streamText({
    model: provider.chat(MODEL),
    prompt: "fake:text:Streamed to the SDK",
    maxRetries: 0,
    onError: ({ error }) => {
      throw error;
    },
  });
  const pieces = [];
  for await (const piece of result.textStream) pieces.push(piece);
  return { pieces, text: await result.text, finishReason: await result.finishReason, usage: await result.usage };
});
