//! A TCP proxy on loopback that adds a fixed delay to every request: the first bytes a client
//! sends after the server last answered wait `delay` before they are forwarded, so each HTTP
//! request on a kept-alive connection costs one delay, as a round trip to a distant S3 does
//! (moto on loopback answers in well under a millisecond). Bytes pass through unchanged.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A running proxy; it stops with the process.
pub struct LatencyProxy {
    pub url: String,
    /// Requests delayed so far.
    pub requests: Arc<AtomicUsize>,
}

/// Which way a pump copies.
enum Way {
    /// Client to server: a chunk that starts a request waits `delay`.
    Up {
        answered: Arc<AtomicBool>,
        delay: Duration,
        count: Arc<AtomicUsize>,
    },
    /// Server to client: marks the connection as answered.
    Down { answered: Arc<AtomicBool> },
}

impl LatencyProxy {
    /// Forwards 127.0.0.1:<free port> to `upstream` (`host:port`), adding `delay` per request.
    pub fn start(upstream: &str, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        let upstream = upstream.to_owned();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                let answered = Arc::new(AtomicBool::new(true));
                let up = Way::Up {
                    answered: Arc::clone(&answered),
                    delay,
                    count: Arc::clone(&counter),
                };
                let down = Way::Down { answered };
                std::thread::spawn(move || pump(client, server, &up));
                std::thread::spawn(move || pump(s2, c2, &down));
            }
        });
        Self { url, requests }
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, way: &Way) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        match way {
            Way::Up {
                answered,
                delay,
                count,
            } => {
                if answered.swap(false, Ordering::AcqRel) {
                    count.fetch_add(1, Ordering::Relaxed);
                    if !delay.is_zero() {
                        std::thread::sleep(*delay);
                    }
                }
            }
            Way::Down { answered } => answered.store(true, Ordering::Release),
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
