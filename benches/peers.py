#!/usr/bin/env python3
"""Times peer tools on the same generated data as `osteon bench`, in the same run.

Usage: benches/peers.py DATA_DIR [--runs N] [--only K1,K2]  -> JSON on stdout.
DATA_DIR is written by `osteon bench --write-data DATA_DIR --size ...` (DICOM series, raw
CT, meshes, ICP points, meta.json). The script makes its own venv (benches/.venv) and
pip-installs the peers there on first use; a peer that cannot be installed or fails is
reported as {"error": "..."} for its kernel, never a crash.

Peers (all single-threaded where the library allows it; thread counts are pinned to 1):
- dicom_read: pydicom reading every file + numpy stack, sort along the normal, rescale;
- threshold_components: numpy threshold + cc3d 6-connected components;
- region_grow: numpy threshold + scikit-image `flood` (face connectivity), same seed;
- mc_one_bone: vtkFlyingEdges3D at the same iso-level on the CT cropped to the talus
  bounding box + 1 voxel (Osteon's marching cubes works on the same box);
- volume_area: vtkMassProperties on the same 1.3 M-triangle sphere;
- taubin_20: vtkWindowedSincPolyDataFilter, 20 iterations, same sphere;
- remesh_iso: pymeshlab isotropic explicit remeshing, same talus, target edge, rounds;
- decimate_qem: pymeshlab quadric edge collapse to the same triangle count;
- icp_mirrored_talus: open3d point-to-plane ICP of the same moving samples onto the
  fixed vertices with their normals, from identity (Osteon also does a pose search);
- icp_refine, icp_refine_untrimmed: the same open3d call (every pair lies within its 5 mm,
  so it trims nothing); Osteon's ICP from the same start with the same samples, trimmed
  10 % / untrimmed. Their "detail" (outside the timer) holds open3d's iteration count
  (smallest max_iteration that gives the same result to 1e-9), fitness and RMSE, and both
  results scored both ways — open3d's inlier RMSE at 5 mm and Osteon's point-to-plane
  RMS of the nearest (1 − trim) pairs — with the rotation (°) and the mean / max sample
  displacement (mm) between the two transforms.
- slice_multiplane: trimesh multiplane sections of the talus every 0.05 mm (segments
  only; Osteon's slicer also chains them into closed, nested polygons), and a
  vectorised numpy plane sweep on the same planes: each triangle's plane range from its
  z-range, every (plane, triangle) pair's two edge crossings in one vectorised pass
  (a vertex on a plane counts as above it, as in Osteon), segments split per plane.
"""
import json
import os
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
PACKAGES = {
    "numpy": "numpy",
    "pydicom": "pydicom",
    "cc3d": "connected-components-3d",
    "skimage": "scikit-image",
    "vtk": "vtk",
    "pymeshlab": "pymeshlab",
    "open3d": "open3d",
    "trimesh": "trimesh",
}
INSTALL_ERRORS = {}


def ensure_venv():
    """Re-runs this script inside benches/.venv, installing missing packages first."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    py = VENV / "bin" / "python"
    if not py.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    errors = {}
    for module, package in PACKAGES.items():
        if subprocess.run([str(py), "-c", f"import {module}"], capture_output=True).returncode == 0:
            continue
        r = subprocess.run(
            [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", package],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["pip failed"])[-1]
            errors[module] = f"pip install {package} failed: {last[:160]}"
    env = dict(os.environ, OSTEON_PEER_INSTALL_ERRORS=json.dumps(errors))
    os.execve(str(py), [str(py), __file__, *sys.argv[1:]], env)


def single_thread():
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[var] = "1"


def timed(kernel, peer, runs, setup, fn):
    """Median of `runs` timed calls after one warm-up; errors become {"error": ...}."""
    try:
        missing = [m for m in peer_modules(peer) if m in INSTALL_ERRORS]
        if missing:
            raise RuntimeError(INSTALL_ERRORS[missing[0]])
        state = setup()
        fn(state)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn(state)
            times.append((time.perf_counter() - t0) * 1000)
        return {"kernel": kernel, "peer": peer, "median_ms": statistics.median(times), "min_ms": min(times), "runs": runs}
    except Exception as e:  # a peer failing must not stop the others
        return {"kernel": kernel, "peer": peer, "error": f"{type(e).__name__}: {e}"[:200]}


def peer_modules(peer):
    names = {"pydicom": "pydicom", "cc3d": "cc3d", "skimage": "skimage", "vtk": "vtk", "pymeshlab": "pymeshlab", "open3d": "open3d", "trimesh": "trimesh"}
    return [m for k, m in names.items() if k in peer]


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


def load_mesh(data, name):
    import numpy as np

    v = np.fromfile(data / f"{name}.vertices.f64", dtype="<f8").reshape(-1, 3)
    t = np.fromfile(data / f"{name}.triangles.u32", dtype="<u4").reshape(-1, 3)
    return v, t


def vtk_polydata(v, t):
    import numpy as np
    import vtk
    from vtk.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray

    pts = vtk.vtkPoints()
    pts.SetData(numpy_to_vtk(np.ascontiguousarray(v), deep=True))
    cells = np.hstack([np.full((len(t), 1), 3, dtype=np.int64), t.astype(np.int64)]).ravel()
    polys = vtk.vtkCellArray()
    if hasattr(polys, "ImportLegacyFormat"):
        polys.ImportLegacyFormat(numpy_to_vtkIdTypeArray(cells, deep=True))
    else:
        polys.SetCells(len(t), numpy_to_vtkIdTypeArray(cells, deep=True))
    pd = vtk.vtkPolyData()
    pd.SetPoints(pts)
    pd.SetPolys(polys)
    return pd


def main():
    ensure_venv()
    single_thread()
    INSTALL_ERRORS.update(json.loads(os.environ.get("OSTEON_PEER_INSTALL_ERRORS", "{}")))
    import numpy as np

    data = Path(sys.argv[1])
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 5
    only = sys.argv[sys.argv.index("--only") + 1].split(",") if "--only" in sys.argv else None
    meta = json.loads((data / "meta.json").read_text())
    nx, ny, nz = meta["dims_xyz"]
    ct = np.fromfile(data / "ct.i16", dtype="<i2").reshape(nz, ny, nx)  # [k, j, i]
    lo, hi = meta["threshold_hu"]
    i, j, k = meta["talus_seed_ijk"]
    files = sorted(str(p) for p in (data / "series").iterdir() if p.suffix == ".dcm")

    def vtk_threads():
        import vtk

        vtk.vtkSMPTools.Initialize(1)
        vtk.vtkMultiThreader.SetGlobalMaximumNumberOfThreads(1)
        return vtk

    def fe_setup():
        vtk = vtk_threads()
        from vtk.util.numpy_support import numpy_to_vtk

        (x0, y0, z0), (x1, y1, z1) = meta["talus_bbox_ijk"]
        crop = np.ascontiguousarray(ct[max(z0 - 1, 0): z1 + 2, max(y0 - 1, 0): y1 + 2, max(x0 - 1, 0): x1 + 2])
        img = vtk.vtkImageData()
        img.SetDimensions(crop.shape[2], crop.shape[1], crop.shape[0])
        img.SetSpacing(*meta["spacing_mm"])
        img.GetPointData().SetScalars(numpy_to_vtk(crop.ravel(), deep=True, array_type=vtk.VTK_SHORT))
        fe = vtk.vtkFlyingEdges3D()
        fe.SetInputData(img)
        fe.SetValue(0, meta["iso_hu"])
        fe.ComputeNormalsOff()
        fe.ComputeGradientsOff()
        fe.ComputeScalarsOff()
        return fe

    def mass_setup():
        vtk = vtk_threads()
        mp = vtk.vtkMassProperties()
        mp.SetInputData(vtk_polydata(*load_mesh(data, "sphere")))
        return mp

    def mass_run(mp):
        mp.Modified()
        mp.Update()
        return mp.GetVolume(), mp.GetSurfaceArea()

    def sinc_setup():
        vtk = vtk_threads()
        f = vtk.vtkWindowedSincPolyDataFilter()
        f.SetInputData(vtk_polydata(*load_mesh(data, "sphere")))
        f.SetNumberOfIterations(meta["taubin"]["iterations"])
        f.BoundarySmoothingOff()
        f.FeatureEdgeSmoothingOff()
        f.NonManifoldSmoothingOn()
        f.NormalizeCoordinatesOn()
        return f

    def update(f):
        f.Modified()
        f.Update()

    def meshlab_setup():
        import pymeshlab

        v, t = load_mesh(data, "talus")
        return pymeshlab, v, t

    def meshlab_remesh(s):
        pymeshlab, v, t = s
        ms = pymeshlab.MeshSet()
        ms.add_mesh(pymeshlab.Mesh(v, t.astype(np.int32)))
        ms.meshing_isotropic_explicit_remeshing(
            iterations=meta["remesh_iterations"],
            targetlen=pymeshlab.PureValue(meta["remesh_target_edge_mm"]),
        )

    def meshlab_decimate(s):
        pymeshlab, v, t = s
        ms = pymeshlab.MeshSet()
        ms.add_mesh(pymeshlab.Mesh(v, t.astype(np.int32)))
        ms.meshing_decimation_quadric_edge_collapse(targetfacenum=meta["decimate_target_triangles"])

    def icp_setup():
        import open3d as o3d

        o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)
        v, t = load_mesh(data, "talus")
        m = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(v), o3d.utility.Vector3iVector(t.astype(np.int32)))
        m.compute_vertex_normals()
        fixed = o3d.geometry.PointCloud(m.vertices)
        fixed.normals = m.vertex_normals
        moving = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.fromfile(data / "icp_moving.f64", dtype="<f8").reshape(-1, 3)))
        crit = o3d.pipelines.registration.ICPConvergenceCriteria(max_iteration=meta["icp"]["max_iterations"])
        est = o3d.pipelines.registration.TransformationEstimationPointToPlane()
        return o3d, fixed, moving, crit, est

    def icp_run(s):
        o3d, fixed, moving, crit, est = s
        return o3d.pipelines.registration.registration_icp(moving, fixed, 5.0, np.eye(4), est, crit)

    def icp_detail(kernel):
        """open3d's iterations and both results scored both ways (not timed)."""
        o3d, fixed, moving, crit, est = icp_setup()
        ours = meta["icp"].get("osteon", {}).get(kernel)
        full = icp_run((o3d, fixed, moving, crit, est))
        t_o3d = np.asarray(full.transformation)
        iterations = None
        for k in range(1, meta["icp"]["max_iterations"] + 1):
            c = o3d.pipelines.registration.ICPConvergenceCriteria(max_iteration=k)
            r = o3d.pipelines.registration.registration_icp(moving, fixed, 5.0, np.eye(4), est, c)
            if np.allclose(np.asarray(r.transformation), t_o3d, rtol=0, atol=1e-9):
                iterations = k
                break
        pts = np.asarray(moving.points)
        fv, fn = np.asarray(fixed.points), np.asarray(fixed.normals)

        def score(t, trim):
            ev = o3d.pipelines.registration.evaluate_registration(moving, fixed, 5.0, t)
            pairs = np.asarray(ev.correspondence_set)
            p = pts[pairs[:, 0]] @ t[:3, :3].T + t[:3, 3]
            d = p - fv[pairs[:, 1]]
            keep = int(round((1 - trim) * len(pairs)))
            kept = np.argsort((d * d).sum(1), kind="stable")[:keep]
            r = (d[kept] * fn[pairs[kept, 1]]).sum(1)
            return {"o3d_inlier_rmse_mm": ev.inlier_rmse, "fitness": ev.fitness,
                    "trimmed_point_to_plane_rms_mm": float(np.sqrt((r * r).mean()))}

        trim = ours["trim_fraction"] if ours else meta["icp"]["trim_fraction"]
        detail = {"o3d_iterations": iterations, "o3d_fitness": full.fitness, "o3d_inlier_rmse_mm": full.inlier_rmse,
                  "o3d_fixed_from_moving": t_o3d.tolist(), "o3d_scored": score(t_o3d, trim)}
        if ours:
            t_ost = np.array(ours["fixed_from_moving"])
            rel = t_o3d[:3, :3].T @ t_ost[:3, :3]
            angle = np.degrees(np.arccos(np.clip((np.trace(rel) - 1) / 2, -1, 1)))
            shift = np.linalg.norm((pts @ t_o3d[:3, :3].T + t_o3d[:3, 3]) - (pts @ t_ost[:3, :3].T + t_ost[:3, 3]), axis=1)
            detail.update({"osteon_iterations": ours["iterations"], "osteon_coarse_iterations": ours["coarse_iterations"],
                           "osteon_rms_mm": ours["rms_mm"], "osteon_scored": score(t_ost, trim),
                           "rotation_between_deg": float(angle), "displacement_mean_mm": float(shift.mean()),
                           "displacement_max_mm": float(shift.max())})
        return detail

    def slice_setup():
        import trimesh

        v, t = load_mesh(data, "talus")
        m = trimesh.Trimesh(v, t, process=False)
        zmin, zmax = m.bounds[0][2], m.bounds[1][2]
        heights = np.arange(0.5 * meta["slice_layer_mm"], zmax - zmin, meta["slice_layer_mm"])
        return trimesh, m, np.array([0.0, 0.0, zmin]), heights

    def slice_run(s):
        trimesh, m, origin, heights = s
        return trimesh.intersections.mesh_multiplane(m, origin, [0.0, 0.0, 1.0], heights)

    def sweep_setup():
        v, t = load_mesh(data, "talus")
        tri = v[t]  # (n, 3, 3)
        z = tri[:, :, 2]
        zmin, zmax = float(z.min()), float(z.max())
        heights = zmin + np.arange(0.5 * meta["slice_layer_mm"], zmax - zmin, meta["slice_layer_mm"])
        return tri, heights

    def sweep_run(s):
        """Segments of every plane: (plane index array, segments (m, 2, 2)) per plane."""
        tri, heights = s
        z = tri[:, :, 2]
        lo, hi = z.min(axis=1), z.max(axis=1)
        # Planes h with lo < h <= hi (vertex at the plane counts as above).
        k0 = np.searchsorted(heights, lo, side="right")
        k1 = np.searchsorted(heights, hi, side="right")
        n = k1 - k0
        rows = np.repeat(np.arange(len(tri)), n)
        planes = np.repeat(k0 - np.cumsum(n) + n, n) + np.arange(n.sum())
        h = heights[planes][:, None]
        p = tri[rows]  # (m, 3, 3)
        a, b = p, np.roll(p, -1, axis=1)  # edges 0-1, 1-2, 2-0
        below_a, below_b = a[:, :, 2] < h, b[:, :, 2] < h
        cross = below_a != below_b  # exactly two edges per pair
        with np.errstate(divide="ignore", invalid="ignore"):  # edges that do not cross
            t = (h - a[:, :, 2]) / (b[:, :, 2] - a[:, :, 2])
            xy = a[:, :, :2] + t[:, :, None] * (b[:, :, :2] - a[:, :, :2])
        seg = xy[cross].reshape(-1, 2, 2)
        order = np.argsort(planes, kind="stable")
        bounds = np.searchsorted(planes[order], np.arange(1, len(heights)))
        return np.split(seg[order], bounds)

    bone = lambda: (ct >= lo) & (ct <= hi)
    peers = [
        ("dicom_read", "pydicom + numpy", lambda: files, read_series),
        ("threshold_components", "numpy + cc3d", lambda: None, lambda _: __import__("cc3d").connected_components(bone(), connectivity=6)),
        ("region_grow", "numpy + skimage flood", lambda: __import__("skimage.segmentation").segmentation.flood, lambda flood: flood(bone(), (k, j, i), connectivity=1)),
        ("mc_one_bone", "vtkFlyingEdges3D", fe_setup, update),
        ("volume_area", "vtkMassProperties", mass_setup, mass_run),
        ("taubin_20", "vtkWindowedSincPolyDataFilter", sinc_setup, update),
        ("remesh_iso", "pymeshlab isotropic remeshing", meshlab_setup, meshlab_remesh),
        ("decimate_qem", "pymeshlab quadric decimation", meshlab_setup, meshlab_decimate),
        ("icp_mirrored_talus", "open3d point-to-plane ICP", icp_setup, icp_run),
        ("icp_refine", "open3d point-to-plane ICP", icp_setup, icp_run),
        ("icp_refine_untrimmed", "open3d point-to-plane ICP", icp_setup, icp_run),
        ("slice_multiplane", "trimesh multiplane sections", slice_setup, slice_run),
        ("slice_multiplane", "numpy plane sweep (vectorised)", sweep_setup, sweep_run),
    ]
    results = [timed(kn, peer, runs, setup, fn) for kn, peer, setup, fn in peers if only is None or kn in only]
    for r in results:
        if r["kernel"] in ("icp_refine", "icp_refine_untrimmed") and "error" not in r:
            try:
                r["detail"] = icp_detail(r["kernel"])
            except Exception as e:  # the timing stands without the detail
                r["detail"] = {"error": f"{type(e).__name__}: {e}"[:200]}
    print(json.dumps({"target": "peer", "python": sys.version.split()[0], "results": results}))


if __name__ == "__main__":
    main()
