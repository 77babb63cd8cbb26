#!/usr/bin/env python3
"""Times peer tools on the same generated DICOM series as `osteon bench`.

Peers (single-threaded, same data, same run):
- dicom_read: pydicom reading every file + numpy stacking and rescaling to HU;
- threshold_components: numpy threshold + cc3d 6-connected components;
- region_grow: numpy threshold + scikit-image `flood` (face connectivity) from the same seed.
scripts/bench.sh installs the packages into a venv. Usage:
benches/peers.py SERIES_DIR [--reps N]  -> JSON on stdout.
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


def timed(kernel, peer, reps, fn):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return {"kernel": kernel, "peer": peer, "median_ms": statistics.median(times), "min_ms": min(times), "reps": reps}


def main():
    import cc3d
    from skimage.segmentation import flood

    series_dir = Path(sys.argv[1])
    reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 5
    files = sorted(str(p) for p in series_dir.iterdir() if p.suffix == ".dcm")
    i, j, k = json.loads((series_dir / "seeds.json").read_text())["talus_seed_ijk"]
    vol = read_series(files)  # indexed [k, j, i]
    bone = lambda: (vol >= 226) & (vol <= 3071)
    results = [
        timed("dicom_read", "pydicom + numpy", reps, lambda: read_series(files)),
        timed("threshold_components", "numpy + cc3d", reps, lambda: cc3d.connected_components(bone(), connectivity=6)),
        timed("region_grow", "numpy + skimage flood", reps, lambda: flood(bone(), (k, j, i), connectivity=1)),
    ]
    print(json.dumps({"target": "peer", "results": results}))


if __name__ == "__main__":
    main()
