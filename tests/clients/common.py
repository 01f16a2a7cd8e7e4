"""What every client module of the suite asks and expects of the fake."""

from __future__ import annotations

MODEL = "claude-4.5-sonnet"
PROMPT_TOKENS, COMPLETION_TOKENS = 1600, 48  # the fake's DEFAULT_USAGE in OpenAI terms
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
