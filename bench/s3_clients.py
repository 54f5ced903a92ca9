"""S3 client choice: boto3 (threads) against obstore (Rust, async), uploading the same bundle
to the same S3 API server in one run.

    .venv/bin/python bench/s3_clients.py [--mib 256] [--rounds 3]

The server is moto's standalone S3 server on loopback (a real S3 API over HTTP; it is
itself Python, so absolute throughput is the server's, and the comparison is of what each
client costs the worker: wall time, CPU time and peak memory). Each client runs in a fresh
child process so peak RSS is its own. Needs ``pip install obstore`` for the second client.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import asyncio, json, os, sys, time

def peak_rss_mib():
    # VmHWM is this process's own peak (ru_maxrss would carry the parent's over exec).
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
client, endpoint, bucket, path = sys.argv[1:5]
key = "bench/" + client + ".zip"
t0, c0 = time.perf_counter(), time.process_time()
if client == "boto3":
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    s3 = boto3.client("s3", endpoint_url=endpoint, config=Config(signature_version="s3v4"))
    s3.upload_file(path, bucket, key, ExtraArgs={"ChecksumAlgorithm": "SHA256"},
                   Config=TransferConfig(multipart_threshold=16 << 20,
                                         multipart_chunksize=16 << 20, max_concurrency=4))
else:
    import obstore
    from obstore.store import S3Store
    store = S3Store(bucket, endpoint=endpoint, allow_http=True, region="us-east-1",
                    access_key_id="testing", secret_access_key="testing")
    async def put():
        await obstore.put_async(store, key, open(path, "rb"), chunk_size=16 << 20,
                                max_concurrency=4)
    asyncio.run(put())
print(json.dumps({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                  "rss_mib": peak_rss_mib()}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import boto3
    from moto.server import ThreadedMotoServer

    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}
    os.environ.update(env)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench")
    results: dict[str, list[dict[str, float]]] = {"boto3": [], "obstore": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bundle.zip"
        with path.open("wb") as fh:
            for _ in range(args.mib):
                fh.write(os.urandom(1 << 20))
        for _ in range(args.rounds):
            for client in results:
                out = subprocess.run([sys.executable, "-c", CHILD, client, endpoint, "bench",
                                      str(path)], env=env, capture_output=True, text=True,
                                     check=True)
                results[client].append(json.loads(out.stdout.strip().splitlines()[-1]))
    server.stop()
    print(f"S3 upload of a {args.mib} MiB file to moto's S3 server on loopback, "
          f"{args.rounds} rounds, median; multipart 16 MiB, 4 parts in flight, SHA-256")
    for client, runs in results.items():
        wall = statistics.median(r["wall"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        rss = statistics.median(r["rss_mib"] for r in runs)
        print(f"  {client:8s} wall {wall:6.2f} s   client CPU {cpu:6.2f} s   "
              f"peak RSS {rss:6.1f} MiB")


if __name__ == "__main__":
    main()
