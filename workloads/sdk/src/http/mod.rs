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

/// [`get`], failing with [`Error::Failed`] on an answer other than 2xx.
pub fn get_ok(
    url: &str,
    timeout_ms: u64,
    sink: &mut dyn FnMut(&[u8]) -> Result<(), Error>,
) -> Result<(), Error> {
    let status = get(url, timeout_ms, sink)?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(Error::Failed(format!("GET {url} answered HTTP {status}")))
    }
}

/// GET `url` whole into memory, refusing a body over `max_mb` MiB with an error naming
/// `param` (the parameter that gave the URL, and its `max_*_mb` limit `limit`).
pub fn get_bytes(
    url: &str,
    param: &str,
    limit: &str,
    max_mb: u64,
    timeout_ms: u64,
) -> Result<Vec<u8>, Error> {
    let max = max_mb << 20;
    let mut bytes = Vec::new();
    get_ok(url, timeout_ms, &mut |chunk| {
        if (bytes.len() + chunk.len()) as u64 > max {
            return Err(Error::Failed(format!(
                "{param} {url} is larger than {limit} ({max_mb} MB): it passes byte offset {max}; give the action more memory and raise {limit}"
            )));
        }
        bytes.extend_from_slice(chunk);
        Ok(())
    })?;
    Ok(bytes)
}
