//! Criterion benchmarks of a few hot kernels (`cargo bench`). `osteon bench --json` times
//! every kernel of `osteon::bench::KERNELS` with a plain median, natively and in the
//! browser bench page; `scripts/bench.sh` adds the peers.

use criterion::{criterion_group, criterion_main, Criterion};
use osteon::bench::Bench;
use osteon::demo::{self, DemoParams};
use osteon::dicom::{self, FileBytes, ReadOptions};
use osteon::mpr::{self, Plane};
use osteon::progress::NoProgress;
use osteon::surface::preview::{iso_surface_preview, PreviewParams};

fn kernels(c: &mut Criterion) {
    let mut g = c.benchmark_group("kernels");
    g.sample_size(10);
    let p = DemoParams::default();
    g.bench_function("demo_generate", |b| b.iter(|| demo::generate(&p)));
    let mut inputs = Bench::new(p.dims);
    let files = inputs.series().expect("bench series").to_vec();
    let bytes: Vec<FileBytes> = files
        .iter()
        .map(|(n, b)| FileBytes { name: n, bytes: b })
        .collect();
    g.bench_function("dicom_read", |b| {
        b.iter(|| {
            let scan = dicom::scan(&bytes);
            dicom::read_series(&bytes, &scan, 0, &ReadOptions::default(), &mut NoProgress)
                .expect("reads")
        })
    });
    let study = inputs.study();
    g.bench_function("surface_preview", |b| {
        b.iter(|| iso_surface_preview(&study.ct, &PreviewParams::default()))
    });
    let mut out = Vec::new();
    g.bench_function("mpr_slice", |b| {
        b.iter(|| {
            mpr::render_slice_rgba(
                &study.ct,
                Plane::Axial,
                p.dims[2] / 2,
                mpr::BONE,
                None,
                &mut out,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
