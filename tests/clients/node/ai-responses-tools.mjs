// The Vercel AI SDK's default OpenAI provider, `openai(id)`, speaks the Responses API:
// generateText() with a tool and stopWhen: stepCountIs(3) over /v1/responses, two steps.
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, stepCountIs, tool } from "ai";
import { z } from "zod";
import { API_KEY, GATEWAY_URL, MODEL, run } from "./common.mjs";

await run(async () => {
  const provider = createOpenAI({ baseURL: `${GATEWAY_URL}/v1`, apiKey: API_KEY });
  const result = await generateText({
    model: provider(MODEL),
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
