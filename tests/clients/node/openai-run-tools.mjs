// The `openai` package's runTools(): the SDK runs get_weather and sends its result back, a
// two-step tool loop ending in the model's text.
import OpenAI from "openai";
import { API_KEY, GATEWAY_URL, MODEL, run } from "./common.mjs";

await run(async () => {
  const client = new OpenAI({ baseURL: `${GATEWAY_URL}/v1`, apiKey: API_KEY, maxRetries: 0, timeout: 60_000 });
  const runner = client.chat.completions.runTools({
    model: MODEL,
    messages: [{ role: "user", content: 'fake:tool:get_weather:{"city":"Paris"}' }],
    tools: [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Current weather of a city",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
          parse: JSON.parse,
          function: async ({ city }) => `sunny in ${city}`,
        },
      },
    ],
  });
  const content = await runner.finalContent();
  const completions = runner.allChatCompletions();
  return {
    content,
    finish_reasons: completions.map((completion) => completion.choices[0].finish_reason),
    messages: runner.messages,
  };
});
