//! Streaming HTTP(S) GET for workloads (feature `http`): through `wasi:http` inside a
//! component, so the host's outbound-host policy applies, and with `ureq` natively, so
//! the native build of a workload does the same work side by side.

use crate::Error;

#[cfg_attr(target_arch = "wasm32", path = "wasi.rs")]
#[cfg_attr(not(target_arch = "wasm32"), path = "native.rs")]
mod imp;

/// GET `url` and hand each chunk of the body to `sink` as it arrives (an error from
/// `sink` stops the transfer); the HTTP status code.
pub fn get(
    url: &str,
    timeout_ms: u64,
    sink: &mut dyn FnMut(&[u8]) -> Result<(), Error>,
) -> Result<u16, Error> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Error::InvalidParams(format!(
            "`{url}` is not an http:// or https:// URL"
        )));
    }
    imp::get(url, timeout_ms, sink)
}
