//! Criterion benchmarks of the hot kernels (`cargo bench`). `osteon bench --json` times
//! the same kernels with a plain median, natively and in the browser bench page.

use criterion::{criterion_group, criterion_main, Criterion};
use osteon::bench::{bench_params, bench_series};
use osteon::demo;
use osteon::dicom::{self, FileBytes, ReadOptions};
use osteon::mpr::{self, Plane};
use osteon::progress::NoProgress;
use osteon::surface::preview::{iso_surface_preview, PreviewParams};

fn kernels(c: &mut Criterion) {
    let mut g = c.benchmark_group("kernels");
    g.sample_size(10);
    let p = bench_params();
    g.bench_function("demo_generate", |b| b.iter(|| demo::generate(&p)));
    let files = bench_series().expect("bench series");
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
    let study = demo::generate(&p);
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
