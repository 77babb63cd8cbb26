#!/usr/bin/env python3
"""Times peer tools on the same generated DICOM series as `osteon bench`.

Peer for `dicom_read`: pydicom reading every file + numpy stacking and rescaling to HU
(the usual Python way to get a CT volume). Installs its packages into a venv itself.
Usage: benches/peers.py SERIES_DIR [--reps N]  -> JSON on stdout.
"""
import json
import statistics
import sys
import time
from pathlib import Path


def read_series(files):
    import numpy as np
    import pydicom

    slices = [pydicom.dcmread(f) for f in files]
    normal = np.cross(
        np.array(slices[0].ImageOrientationPatient[:3], dtype=float),
        np.array(slices[0].ImageOrientationPatient[3:], dtype=float),
    )
    slices.sort(key=lambda s: float(np.dot(normal, np.array(s.ImagePositionPatient, dtype=float))))
    vol = np.stack([s.pixel_array for s in slices]).astype(np.float32)
    slope = float(slices[0].get("RescaleSlope", 1))
    intercept = float(slices[0].get("RescaleIntercept", 0))
    return np.clip(vol * slope + intercept, -32768, 32767).astype(np.int16)


def main():
    series_dir = Path(sys.argv[1])
    reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 5
    files = sorted(str(p) for p in series_dir.iterdir() if p.suffix == ".dcm")
    read_series(files)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        vol = read_series(files)
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"target": "peer", "results": [{
        "kernel": "dicom_read", "peer": "pydicom + numpy", "median_ms": statistics.median(times),
        "min_ms": min(times), "reps": reps, "items": int(vol.size),
    }]}))


if __name__ == "__main__":
    main()
