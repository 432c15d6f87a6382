//! GET through `wasi:http/outgoing-handler` (wstd); the host decides which hosts are reachable.

use std::time::Duration;

use owbench_workload::Error;
use wstd::http::{Body, BodyExt, Client, Request};

use crate::Sink;

/// GET `url`, stream the body into `sink`, return the status code.
pub(crate) fn get(url: &str, timeout_ms: u64, sink: &mut Sink) -> Result<u16, Error> {
    wstd::runtime::block_on(async {
        let mut client = Client::new();
        let timeout = Duration::from_millis(timeout_ms);
        client.set_connect_timeout(timeout);
        client.set_first_byte_timeout(timeout);
        client.set_between_bytes_timeout(timeout);
        let request = Request::get(url)
            .body(Body::empty())
            .map_err(|e| Error::InvalidParams(format!("`url` is not a valid URL: {e}")))?;
        let response = client
            .send(request)
            .await
            .map_err(|e| Error::Failed(format!("GET {url} failed: {e:#}")))?;
        let status = response.status().as_u16();
        let mut body = response.into_body().into_boxed_body();
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|e| Error::Failed(format!("reading the body of {url}: {e:#}")))?;
            if let Some(data) = frame.data_ref() {
                sink.write(data);
            }
        }
        Ok(status)
    })
}
