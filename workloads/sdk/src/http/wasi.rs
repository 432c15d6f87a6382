//! GET through `wasi:http/outgoing-handler` (wstd); the host decides which hosts are reachable.

use std::time::Duration;

use wstd::http::body::Bytes;
use wstd::http::{Body, BodyExt, Client, Request};

use crate::Error;

/// GET `url`, handing each chunk of the body to `sink`; the status code.
pub(super) fn get(
    url: &str,
    timeout_ms: u64,
    sink: &mut dyn FnMut(&[u8]) -> Result<(), Error>,
) -> Result<u16, Error> {
    wstd::runtime::block_on(async {
        let mut client = Client::new();
        let timeout = Duration::from_millis(timeout_ms);
        client.set_connect_timeout(timeout);
        client.set_first_byte_timeout(timeout);
        client.set_between_bytes_timeout(timeout);
        // `Body::empty()` writes zero bytes to the outgoing stream before finishing it,
        // and that write fails with "connection reset" when the server has already
        // answered and the host has closed the stream. An empty streamed body is finished
        // without a write.
        let empty = Body::from_http_body(wstd::http::body::util::Empty::<Bytes>::new());
        let request = Request::get(url)
            .body(empty)
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
                sink(data)?;
            }
        }
        Ok(status)
    })
}
