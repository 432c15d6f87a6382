//! `object-download`: a network-bound kernel. HTTP(S) GET of a URL (a plain URL, an S3
//! presigned URL or an OCI pre-authenticated request URL), streamed and hashed with
//! SHA-256 without holding the object in memory.
//!
//! Inside the component the GET goes through `wasi:http`, so the host's outbound-host
//! policy applies; the native build uses `ureq` (both in `owbench_workload::http`).

use std::time::Instant;

use owbench_workload::{Category, Ctx, Error, Info, Params, Value, Workload, json};
use sha2::{Digest, Sha256};

/// The workload type exported as a component.
pub struct ObjectDownload;

impl Workload for ObjectDownload {
    fn info() -> Info {
        Info {
            name: "object-download",
            version: env!("CARGO_PKG_VERSION"),
            category: Category::Network,
            description: "streams an HTTP(S) object (plain, S3 presigned or OCI PAR URL) and hashes it",
            default_params: json!({ "timeout_ms": 30000 }),
        }
    }

    fn run(params: &Params, ctx: &mut dyn Ctx) -> Result<Value, Error> {
        let url = params.str("url")?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::InvalidParams(format!(
                "`url` must be an http:// or https:// URL, got `{url}`"
            )));
        }
        let expect = params
            .opt_str("expect_sha256")?
            .map(str::to_ascii_lowercase);
        let timeout_ms = params.u64_in("timeout_ms", 1, 3_600_000)?;

        let started = Instant::now();
        let mut sink = Sink::default();
        let status = owbench_workload::http::get(url, timeout_ms, &mut |chunk| {
            sink.write(chunk);
            Ok(())
        })?;
        let seconds = started.elapsed().as_secs_f64();
        let sha256 = hex::encode(sink.hasher.finalize());
        if !(200..300).contains(&status) {
            return Err(Error::Failed(format!("GET {url} answered HTTP {status}")));
        }
        if let Some(expect) = expect
            && expect != sha256
        {
            return Err(Error::Failed(format!(
                "sha256 of the downloaded object is {sha256}, expected {expect}"
            )));
        }
        let mbps = sink.bytes as f64 / 1e6 / seconds.max(1e-9);
        ctx.metric("download_mbps", mbps, "MB/s");
        Ok(json!({
            "status": status, "bytes": sink.bytes, "seconds": seconds, "mbps": mbps, "sha256": sha256,
        }))
    }
}

owbench_workload::export_workload!(ObjectDownload);

/// Where the body goes: counted and hashed, then dropped.
#[derive(Default)]
struct Sink {
    bytes: u64,
    hasher: Sha256,
}

impl Sink {
    fn write(&mut self, chunk: &[u8]) {
        self.bytes += chunk.len() as u64;
        self.hasher.update(chunk);
    }
}
