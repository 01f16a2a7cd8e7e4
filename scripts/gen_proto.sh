#!/usr/bin/env bash
# Regenerates app/cursor/proto/*_pb2.py from the .proto files beside them.
# Needs requirements-dev.txt (grpcio-tools bundles protoc; its gencode must not be newer than the
# protobuf runtime pinned in requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/../app/cursor/proto"
python -m grpc_tools.protoc -I. --python_out=. --pyi_out=. aiserver.proto agent_aiserver.proto agent.proto key.proto
echo "regenerated: $(ls *_pb2.py | tr '\n' ' ')"
