"""Issue 17, item 6: what recording into object storage costs, against local files in the
same run.

N live recorders (``ToneSource``, 48 kHz mono, Opus/WebM, ``timeslice=1000``) record for
``--seconds``; each step runs in a process of its own, so that its CPU time and peak RSS are
its own:

- **local**: each recorder writes a local file (the peer);
- **s3**: each recorder uploads to a real S3-compatible server on loopback (moto's standalone
  server, a separate process, so that its CPU is not counted).

Every recording is then read back (the file, or the object with boto3) and decoded with
PyAV; a step whose recordings do not each last their wall time within 2% fails. Reported: CPU
per recorder (% of one core) and the process's peak RSS; target: S3 under 1.5x the CPU of
local files, memory bounded (RSS reported, with its growth over the process before recording).

    .venv/bin/python benchmarks/bench_storage.py [--recorders 32] [--seconds 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import _harness as harness  # noqa: E402

TOLERANCE = 0.02
TARGET_RATIO = 1.5
BUCKET = "bench"


def child(mode: str, n: int, seconds: float, where: str, options: dict[str, Any]) -> dict[str, Any]:
    """One step, in this process: N recorders for ``seconds``; returns its measurements."""
    import av
    import mediarecorder as mr

    rss_before = harness.max_rss_bytes()
    tones = [mr.ToneSource(440.0 + i) for i in range(n)]
    recorders = [mr.MediaRecorder(mr.MediaStream([t.track])) for t in tones]
    names = [f"{where}/rec-{i:03d}.webm" for i in range(n)]
    cpu0, t0 = harness.cpu_s(), time.monotonic()
    spans = []
    for rec, name in zip(recorders, names):
        if mode == "s3":
            rec.start(1000, file=name, storage_options=options)
        else:
            rec.start(1000, file=name)
        spans.append(time.monotonic())
    time.sleep(seconds)
    for i, rec in enumerate(recorders):
        spans[i] = time.monotonic() - spans[i]
        rec.stop()
    for rec in recorders:
        assert rec.wait(60), "no stop event"
    wall, cpu = time.monotonic() - t0, harness.cpu_s() - cpu0
    for t in tones:
        t.close()
    failures = []
    errors = [name for name, rec in zip(names, recorders) if rec.state != "inactive"]
    for name, span in zip(names, spans):
        if mode == "s3":
            import boto3

            client = boto3.client(
                "s3",
                endpoint_url=options["aws_endpoint"],
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                region_name="us-east-1",
            )
            data = client.get_object(Bucket=BUCKET, Key=name.split("/", 3)[3])["Body"].read()
        else:
            data = Path(name).read_bytes()
        with av.open(io.BytesIO(data)) as c:
            got = sum(f.samples for f in c.decode(c.streams.audio[0])) / 48000
        # Each recorder's own span, start() returned to stop() called.
        if abs(got - span) / span > TOLERANCE:
            failures.append(f"{name}: {got:.2f} s recorded in {span:.2f} s")
    return {
        "mode": mode,
        "n": n,
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_per_recorder_pct": 100 * cpu / wall / n,
        "peak_rss_mib": harness.max_rss_bytes() / 2**20,
        "rss_growth_mib": (harness.max_rss_bytes() - rss_before) / 2**20,
        "failures": failures + errors,
    }


def run_step(mode: str, n: int, seconds: float, where: str, options: dict[str, Any]) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps([mode, n, seconds, where, options])],
        capture_output=True,
        text=True,
        timeout=300 + seconds,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{mode} step failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--recorders", type=int, default=32, help="concurrent recorders (32)")
    parser.add_argument("--seconds", type=float, default=10.0, help="recording length (10)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*json.loads(args.child))))
        return 0

    from tests.s3_server import S3Server

    server = S3Server()
    server.start()
    try:
        server.client().create_bucket(Bucket=BUCKET)
        with tempfile.TemporaryDirectory() as tmp:
            local = run_step("local", args.recorders, args.seconds, tmp, {})
        s3 = run_step("s3", args.recorders, args.seconds, f"s3://{BUCKET}/run", server.options())
    finally:
        server.kill()
    ratio = s3["cpu_per_recorder_pct"] / local["cpu_per_recorder_pct"]
    ok = ratio < TARGET_RATIO and not s3["failures"] and not local["failures"]
    print()
    print(
        f"Storage: {args.recorders} live ToneSource recorders (48 kHz mono Opus, timeslice "
        f"1000 ms) for {args.seconds:g} s, {os.cpu_count()} CPUs; S3 = moto on loopback"
    )
    harness.print_table(
        [
            ("target", 14),
            ("CPU/rec %core", 14),
            ("peak RSS MiB", 13),
            ("RSS growth", 11),
            ("failures", 9),
        ],
        [
            [
                r["mode"],
                f"{r['cpu_per_recorder_pct']:.2f}",
                f"{r['peak_rss_mib']:.0f}",
                f"{r['rss_growth_mib']:.0f}",
                str(len(r["failures"])),
            ]
            for r in (local, s3)
        ],
    )
    print(f"S3 / local CPU: {ratio:.2f}x (target < {TARGET_RATIO}x): {'pass' if ok else 'FAIL'}")
    for f in local["failures"] + s3["failures"]:
        print("  " + f)
    summary = [
        {
            "figure": f"CPU per recorder, {args.recorders} to S3 (peer: local files)",
            "ours": s3["cpu_per_recorder_pct"],
            "peer": local["cpu_per_recorder_pct"],
            "unit": "% core",
            "target": f"< {TARGET_RATIO}x",
            "passed": ok,
            "lower_is_better": True,
        },
        {
            "figure": f"peak RSS, {args.recorders} to S3 (peer: local files)",
            "ours": s3["peak_rss_mib"],
            "peer": local["peak_rss_mib"],
            "unit": "MiB",
            "target": None,
            "passed": None,
            "lower_is_better": True,
        },
    ]
    if args.json:
        harness.write_json(
            args.json,
            {
                "benchmark": "issue 17 item 6: recording to object storage",
                "local": local,
                "s3": s3,
                "versions": harness.versions(),
                "summary": summary,
            },
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
