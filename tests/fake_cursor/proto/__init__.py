"""The fake's own protobuf schema of the agent protocol (see agent_fake.proto)."""
