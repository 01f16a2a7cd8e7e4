#!/usr/bin/env bash
# Regenerates the fake's own agent schema (tests/fake_cursor/proto/agent_fake_pb2.py/.pyi),
# written independently of the gateway's (scripts/gen_proto.sh). Needs requirements-dev.txt.
set -euo pipefail
cd "$(dirname "$0")/../tests/fake_cursor/proto"
python -m grpc_tools.protoc -I. --python_out=. --pyi_out=. agent_fake.proto
echo "regenerated: $(ls *_pb2.py | tr '\n' ' ')"
