"""The agent protocol generation: `agent.v1.AgentService/RunSSE` plus unary
`aiserver.v1.BidiService/BidiAppend` writes over HTTP/1.1, as docs/AGENT_WIRE.md fixes it.

The codec is pure (bytes in, typed events and owed replies out; no sockets, no clock):
`run_request` (a ChatTurn as the run request), `tools` and `values` (tool declarations and
google.protobuf.Value), `client_messages` (the other appends), `stream` (RunSSE bytes to events
and the answers the server waits for), `errors` (Cursor's refusals as UpstreamError).
The thin I/O around it: `transport` (one turn: RunSSE, appends, heartbeat), `unary` (identity
headers and unary calls), `models` (the catalog) and `api_keys` (the `crsr_` key exchange).
"""
