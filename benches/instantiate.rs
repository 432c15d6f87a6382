//! Instantiation cost: from a plugin's `InstancePre` to a callable instance (fresh
//! `Store` with its call state, limits and epoch deadline, then `instantiate_async`), with wasmtime's
//! pooling allocator (owbench's default) and with the on-demand allocator, side by side.
//! Also the whole fixed cost of a call of a trivial workload (scratch dir, WASI context,
//! instantiate, `run`), the floor under every invocation the embedded platform serves.
#![allow(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use owbench_plugin::manifest::Manifest;
use owbench_plugin::{EngineConfig, PluginEngine, WorkloadPlugin};

fn noop_plugin(engine: &PluginEngine, rt: &tokio::runtime::Runtime) -> WorkloadPlugin {
    let manifest = Manifest::parse(
        "name = \"misbehave\"\nversion = \"0.1.0\"\nworld = \"owbench:plugin/workload@0.4.0\"\n",
    )
    .unwrap();
    let wasm = std::fs::read(owbench_components::fixtures::MISBEHAVE).unwrap();
    rt.block_on(WorkloadPlugin::load(engine, manifest, &wasm))
        .unwrap()
}

/// Time `iters` runs of `f` inside one `block_on`, so the runtime's entry cost is not counted.
fn timed<F: AsyncFnMut()>(rt: &tokio::runtime::Runtime, iters: u64, mut f: F) -> Duration {
    rt.block_on(async {
        let started = Instant::now();
        for _ in 0..iters {
            f().await;
        }
        started.elapsed()
    })
}

fn instantiate(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("instantiate");
    for (label, pooling) in [("pooling", true), ("on-demand", false)] {
        let engine = PluginEngine::new(EngineConfig {
            pooling,
            max_instances: 64,
            ..EngineConfig::default()
        })
        .unwrap();
        let plugin = noop_plugin(&engine, &rt);
        // Timed up to the callable instance; tearing the store down happens untimed here
        // (it is part of `call/noop` below).
        group.bench_function(label, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let started = Instant::now();
                        let instance = plugin.instantiate_only(&engine).await.unwrap();
                        total += started.elapsed();
                        drop(instance);
                    }
                    total
                })
            })
        });
    }
    group.finish();

    let engine = PluginEngine::new(EngineConfig {
        max_instances: 64,
        ..EngineConfig::default()
    })
    .unwrap();
    let plugin = noop_plugin(&engine, &rt);
    let limits = plugin.default_limits();
    c.bench_function("call/noop", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, async || {
                plugin
                    .call(&engine, r#"{"mode":"ok"}"#, limits)
                    .await
                    .result
                    .unwrap();
            })
        })
    });
}

criterion_group!(benches, instantiate);
criterion_main!(benches);
