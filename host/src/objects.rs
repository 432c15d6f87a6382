//! A loopback HTTP object endpoint: serves generated objects so that `object-download`
//! has something to fetch on a laptop with no cloud. `GET /objects/<bytes>` (optionally
//! `?seed=N`) answers with `<bytes>` deterministic pseudo-random bytes, streamed; with a
//! files directory, `GET /files/<name>` answers with that file (data-set partitions).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{Full, StreamBody};
use hyper::body::Frame;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};

/// Largest object served (4 GiB).
pub const MAX_OBJECT: u64 = 4 << 30;
const CHUNK: usize = 64 << 10;

/// A running object endpoint; it stops when dropped.
pub struct ObjectServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl ObjectServer {
    /// Bind `127.0.0.1:0` and serve until dropped. Must be called inside a tokio runtime.
    pub async fn start() -> std::io::Result<ObjectServer> {
        ObjectServer::start_with_files(None).await
    }

    /// As [`ObjectServer::start`], also serving the files of `dir` under `/files/`.
    pub async fn start_with_files(dir: Option<PathBuf>) -> std::io::Result<ObjectServer> {
        let listener = crate::net::listen("127.0.0.1:0".parse().expect("valid address"))?;
        let addr = listener.local_addr()?;
        let files = dir.map(Arc::new);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let files = files.clone();
                tokio::spawn(async move {
                    let service = service_fn(|req| {
                        let files = files.clone();
                        async move {
                            if let (Some(dir), Some(name)) =
                                (files, req.uri().path().strip_prefix("/files/"))
                            {
                                return Ok::<_, Infallible>(file(&dir, name).await);
                            }
                            Ok::<_, Infallible>(respond(req.uri()))
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(ObjectServer { addr, task })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its origin, `http://ADDRESS:PORT` (an address, never a name: it is granted to the
    /// actions that read from it as a literal private address).
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// URL of the object of `bytes` bytes generated from `seed`.
    pub fn url(&self, bytes: u64, seed: u64) -> String {
        format!("http://{}/objects/{bytes}?seed={seed}", self.addr)
    }

    /// URL of file `name` of the files directory.
    pub fn file_url(&self, name: &str) -> String {
        format!("http://{}/files/{name}", self.addr)
    }
}

fn plain(status: StatusCode, text: &str) -> Response<EitherBody> {
    let mut r = Response::new(EitherBody::Right(Full::new(Bytes::from(text.to_owned()))));
    *r.status_mut() = status;
    r
}

/// File `name` (a relative path whose parts do not start with `.`) of `dir`.
async fn file(dir: &std::path::Path, name: &str) -> Response<EitherBody> {
    let safe = !name.is_empty()
        && !name.contains('\\')
        && name
            .split('/')
            .all(|part| !part.is_empty() && !part.starts_with('.'));
    if !safe {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    }
    match tokio::fs::read(dir.join(name)).await {
        Ok(bytes) => Response::new(EitherBody::Right(Full::new(Bytes::from(bytes)))),
        Err(_) => plain(StatusCode::NOT_FOUND, "not found\n"),
    }
}

impl Drop for ObjectServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type ObjectBody = StreamBody<body::ChunkStream>;
type EitherBody = http_body_util::Either<ObjectBody, Full<Bytes>>;

fn respond(uri: &hyper::Uri) -> Response<EitherBody> {
    let Some(size) = uri
        .path()
        .strip_prefix("/objects/")
        .and_then(|s| s.parse::<u64>().ok())
    else {
        return plain(StatusCode::NOT_FOUND, "not found: try /objects/<bytes>\n");
    };
    if size > MAX_OBJECT {
        return plain(StatusCode::BAD_REQUEST, "object too large\n");
    }
    let seed = uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("seed=")))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = StreamBody::new(body::ChunkStream::new(size, seed));
    let mut response = Response::new(EitherBody::Left(body));
    response
        .headers_mut()
        .insert(hyper::header::CONTENT_LENGTH, size.into());
    response
}

/// SHA-256 (hex) of the object of `bytes` bytes generated from `seed`.
pub fn sha256_of(bytes: u64, seed: u64) -> String {
    let mut hasher = Sha256::new();
    let mut generator = Generator::new(seed);
    let mut left = bytes;
    let mut buf = vec![0u8; CHUNK];
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        generator.fill(&mut buf[..n]);
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    hex::encode(hasher.finalize())
}

/// The byte stream of an object: xorshift64 words, little-endian.
struct Generator(u64);

impl Generator {
    fn new(seed: u64) -> Generator {
        Generator(seed ^ 0x9e37_79b9_7f4a_7c15 | 1)
    }

    /// Fill `buf`; chunks must be multiples of 8 bytes except the last.
    fn fill(&mut self, buf: &mut [u8]) {
        for word in buf.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            word.copy_from_slice(&self.0.to_le_bytes()[..word.len()]);
        }
    }
}

mod body {
    //! The body stream of one object, chunk by chunk.

    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::{CHUNK, Frame, Generator, Infallible};
    use bytes::Bytes;

    /// Yields an object's bytes in 64 KiB frames.
    pub struct ChunkStream {
        left: u64,
        generator: Generator,
    }

    impl ChunkStream {
        pub(super) fn new(size: u64, seed: u64) -> ChunkStream {
            ChunkStream {
                left: size,
                generator: Generator::new(seed),
            }
        }
    }

    impl futures_core::Stream for ChunkStream {
        type Item = Result<Frame<Bytes>, Infallible>;

        fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            if self.left == 0 {
                return Poll::Ready(None);
            }
            let n = self.left.min(CHUNK as u64) as usize;
            let mut buf = vec![0u8; n];
            self.generator.fill(&mut buf);
            self.left -= n as u64;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from(buf)))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_chunks_hash_like_the_whole() {
        let mut whole = vec![0u8; 3 * CHUNK + 5];
        let mut generator = Generator::new(7);
        for chunk in whole.chunks_mut(CHUNK) {
            generator.fill(chunk);
        }
        assert_eq!(
            sha256_of(whole.len() as u64, 7),
            hex::encode(Sha256::digest(&whole))
        );
        assert_ne!(sha256_of(100, 7), sha256_of(100, 8));
    }
}
