"""A V2-protocol echo model served by KServe's own ModelServer on 127.0.0.1: the real backend of kserve.yaml's tests.

    python tests/fake_servers/kserve_echo.py --http_port 8080 --model_name echo     (with the kserve venv's python)

`POST /v2/models/<model_name>/infer` with a BYTES input `text_input` answers a BYTES output `text_output` holding
the same text, so a test can see exactly the prompt the mapping built. `raise 400: MESSAGE` or `raise 500: MESSAGE`
in the prompt (MESSAGE runs to the end of its line) makes the model raise KServe's own InvalidInput or
InferenceError, which KServe answers with its error body `{"error": "MESSAGE"}` and that status: error mapping is
tested against KServe's real errors.
Readiness: `GET /v2/health/ready`. No gRPC server.
"""

from __future__ import annotations

import argparse
import re
import uuid

from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer, model_server
from kserve.errors import InferenceError, InvalidInput
from kserve.protocol.rest.server import RESTServer

INPUT = "text_input"
OUTPUT = "text_output"
FAILURE = re.compile(r"raise (?P<status>400|500): (?P<message>[^\n]+)")  # anywhere: the prompt has "user: " first
ERRORS = {"400": InvalidInput, "500": InferenceError}


class EchoModel(Model):
    """Answers the text of `text_input`, or raises the error a `raise NNN: message` line asks for."""

    def __init__(self, name: str):
        super().__init__(name)
        self.ready = True

    async def predict(self, payload: InferRequest, headers: dict | None = None,
                      response_headers: dict | None = None) -> InferResponse:
        text = self._text(payload)
        failure = FAILURE.search(text)
        if failure:
            raise ERRORS[failure["status"]](failure["message"])
        output = InferOutput(name=OUTPUT, shape=[1], datatype="BYTES", data=[text])
        return InferResponse(response_id=payload.id or uuid.uuid4().hex, model_name=self.name, infer_outputs=[output])

    @staticmethod
    def _text(payload: InferRequest) -> str:
        tensor = payload.get_input_by_name(INPUT)
        if tensor is None or tensor.datatype != "BYTES":
            raise InvalidInput(f"expected a BYTES input named {INPUT!r}")
        # JSON carries BYTES elements as strings (InferInput.as_string expects raw bytes, from binary requests).
        texts = [t.decode("utf-8") if isinstance(t, bytes) else t for t in tensor.data]
        if len(texts) != 1 or not isinstance(texts[0], str):
            raise InvalidInput(f"expected one text in {INPUT!r}, got {len(texts)}")
        return texts[0]


class LoopbackRESTServer(RESTServer):
    """KServe 0.21 binds its REST server to 0.0.0.0 with no option; a test server listens on loopback only."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.config.host = "127.0.0.1"  # the uvicorn server holds this same config object and binds at start


def main() -> None:
    # KServe's own options (--http_port, --model_name, ...), as KServe's custom-model examples parse them.
    parser = argparse.ArgumentParser(parents=[model_server.parser])
    args, _ = parser.parse_known_args()
    model_server.RESTServer = LoopbackRESTServer
    ModelServer(http_port=args.http_port, enable_grpc=False).start([EchoModel(args.model_name)])


if __name__ == "__main__":
    main()
