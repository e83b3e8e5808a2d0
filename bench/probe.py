"""One cold start, measured from inside a fresh Python process (run as a script, never imported).

``python bench/probe.py handler <code_dir>`` reads an API Gateway event on stdin, imports ``app`` from the
function's folder (the layer comes from ``PYTHONPATH``, as /opt/python in Lambda) and serves the event once.
``python bench/probe.py baseline`` does what every boto3 Lambda does at start: ``import boto3`` and one client.
It prints one JSON line: wall and CPU seconds of the import and of the first event.
"""

import json
import sys
import time


class Context:
    function_name = "probe"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:ap-southeast-1:123456789012:function:probe"
    memory_limit_in_mb = 256
    aws_request_id = "probe"
    log_group_name = "/aws/lambda/probe"
    log_stream_name = "probe"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def main() -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    if sys.argv[1] == "baseline":
        import boto3

        boto3.client("dynamodb")
        result = {"total_wall": time.perf_counter() - wall, "total_cpu": time.process_time() - cpu}
        print(json.dumps(result), file=sys.__stdout__)
        return
    event = json.load(sys.stdin)
    sys.path.insert(0, sys.argv[2])
    import app  # the import is what is measured

    imported_wall = time.perf_counter()
    response = app.lambda_handler(event, Context())
    print(
        json.dumps(
            {
                "import_wall": imported_wall - wall,
                "first_event_wall": time.perf_counter() - imported_wall,
                "total_wall": time.perf_counter() - wall,
                "total_cpu": time.process_time() - cpu,
                "status": response.get("statusCode"),
                "location": response.get("headers", {}).get("Location", ""),
            }
        ),
        file=sys.__stdout__,
    )


if __name__ == "__main__":
    sys.stdout = sys.stderr  # the handler's log lines must not mix with the result line
    main()
