//! GET with `ureq`, for the native side-by-side runs.

use std::io::Read;
use std::time::Duration;

use crate::Error;

/// GET `url`, handing each chunk of the body to `sink`; the status code.
pub(super) fn get(
    url: &str,
    timeout_ms: u64,
    sink: &mut dyn FnMut(&[u8]) -> Result<(), Error>,
) -> Result<u16, Error> {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_millis(timeout_ms)))
        .http_status_as_error(false)
        .build()
        .new_agent();
    let response = agent
        .get(url)
        .call()
        .map_err(|e| Error::Failed(format!("GET {url} failed: {e}")))?;
    let status = response.status().as_u16();
    let mut reader = response.into_body().into_reader();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| Error::Failed(format!("reading the body of {url}: {e}")))?;
        if n == 0 {
            return Ok(status);
        }
        sink(&buf[..n])?;
    }
}
