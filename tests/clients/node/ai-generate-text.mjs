// The Vercel AI SDK's generateText() with a tool and stopWhen: stepCountIs(3): step one calls
// get_weather, the SDK runs it, step two is the model's text. `node ai-generate-text.mjs chat`
// speaks Chat Completions (`provider.chat(id)`); `responses` the provider's default, `provider(id)`,
// which is the Responses API.
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, stepCountIs, tool } from "ai";
import { z } from "zod";
import { API_KEY, GATEWAY_URL, MODEL, run } from "./common.mjs";

await run(async () => {
  const provider = createOpenAI({ baseURL: `${GATEWAY_URL}/v1`, apiKey: API_KEY });
  const api = process.argv[2];
  if (api !== "chat" && api !== "responses") throw new Error(`usage: node ai-generate-text.mjs chat|responses`);
  const result = await generateText({
    model: api === "chat" ? provider.chat(MODEL) : provider(MODEL),
    prompt: 'fake:tool:get_weather:{"city":"Paris"}',
    tools: {
      get_weather: tool({
        description: "Current weather of a city",
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }) => `sunny in ${city}`,
      }),
    },
    stopWhen: stepCountIs(3),
    maxRetries: 0,
  });
  return {
    text: result.text,
    finishReason: result.finishReason,
    steps: result.steps.map((step) => ({
      finishReason: step.finishReason,
      text: step.text,
      toolCalls: step.toolCalls.map(({ toolCallId, toolName, input }) => ({ toolCallId, toolName, input })),
      toolResults: step.toolResults.map(({ toolCallId, output }) => ({ toolCallId, output })),
      usage: step.usage,
    })),
    totalUsage: result.totalUsage,
  };
});
