//! `sglci-publisher serve`: a small static file server for previewing the site locally (F40).
//! It serves the rendered directory and, optionally, a raw log tree under `/logs/` so that the
//! run pages' links work offline. Loopback by default; GET and HEAD only; no directory listing.
//!
//! Hardened as if exposed: paths are canonicalised and must stay under their root (no symbolic
//! link out, no dot-file such as `/logs/.git/config`); only loopback `Host` values are answered
//! (a DNS-rebinding page cannot read the preview); request lines, header lines and header counts
//! are capped; every connection has read and write timeouts; and at most [`MAX_CONNECTIONS`]
//! are served at once (more are answered 503 and closed).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 32;
/// The longest request line or header line, in bytes.
pub const MAX_LINE: u64 = 8 * 1024;
/// The most header lines a request may send.
pub const MAX_HEADERS: usize = 64;
/// How long a connection may stay silent (or stalled while we write) before it is closed.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// What to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub site: PathBuf,
    /// Raw log trees, tried in order (the legacy tree, the runner's run folders).
    pub logs: Vec<PathBuf>,
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        "csv" => "text/csv; charset=utf-8",
        "md" | "log" | "txt" => "text/plain; charset=utf-8",
        "parquet" => "application/vnd.apache.parquet",
        _ => "application/octet-stream",
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Maps a request path to a file, refusing anything that leaves the served directories.
pub fn resolve(cfg: &ServeConfig, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let path = percent_decode(path)?;
    let (bases, rest): (Vec<&Path>, String) = match path.strip_prefix("/logs/") {
        Some(rest) if !cfg.logs.is_empty() => (
            cfg.logs.iter().map(PathBuf::as_path).collect(),
            rest.to_owned(),
        ),
        _ => (
            vec![cfg.site.as_path()],
            path.trim_start_matches('/').to_owned(),
        ),
    };
    let rel = Path::new(&rest);
    let hidden = |c: &Component<'_>| match c {
        Component::Normal(n) => n.to_str().is_none_or(|n| n.starts_with('.')),
        _ => true,
    };
    if rel.components().any(|c| hidden(&c)) {
        return None;
    }
    bases.into_iter().find_map(|base| {
        let mut full = base.join(rel);
        if full.is_dir() {
            full = full.join("index.html");
        }
        // Symbolic links are followed only while they stay under the root.
        let root = std::fs::canonicalize(base).ok()?;
        let real = std::fs::canonicalize(&full).ok()?;
        (real.starts_with(&root) && real.is_file()).then_some(real)
    })
}

/// Whether a `Host` header names this machine's loopback (with or without a port).
pub fn loopback_host(host: &str) -> bool {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((inner, port)) if port.is_empty() || port.starts_with(':') => inner,
            _ => return false,
        }
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// One line of at most [`MAX_LINE`] bytes; `None` when the line is longer or the peer closed.
fn read_line_capped(reader: &mut impl BufRead) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = reader.take(MAX_LINE + 1).read_until(b'\n', &mut buf)?;
    if n == 0 || n as u64 > MAX_LINE {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

/// Reads the request: its line and its `Host`; `Err(status)` for a request not to be served.
fn read_request(
    reader: &mut impl BufRead,
) -> std::io::Result<Result<(String, String), &'static str>> {
    let Some(request_line) = read_line_capped(reader)? else {
        return Ok(Err("414 URI Too Long"));
    };
    let mut host: Option<String> = None;
    for _ in 0..=MAX_HEADERS {
        let Some(line) = read_line_capped(reader)? else {
            return Ok(Err("431 Request Header Fields Too Large"));
        };
        if line == "\r\n" || line == "\n" {
            return Ok(match host {
                Some(h) if loopback_host(&h) => Ok((request_line, h)),
                _ => Err("421 Misdirected Request"),
            });
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("host") {
                host = Some(value.trim().to_owned());
            }
        }
    }
    Ok(Err("431 Request Header Fields Too Large"))
}

fn respond(stream: &mut TcpStream, cfg: &ServeConfig) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let request_line = match read_request(&mut reader)? {
        Ok((line, _host)) => line,
        Err(status) => return write_response(stream, status, "text/plain", b"refused\n", false),
    };
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let (status, ctype, body) = if method != "GET" && method != "HEAD" {
        (
            "405 Method Not Allowed",
            "text/plain",
            b"GET only\n".to_vec(),
        )
    } else {
        match resolve(cfg, target).map(|p| (std::fs::read(&p), p)) {
            Some((Ok(bytes), p)) => ("200 OK", content_type(&p), bytes),
            _ => ("404 Not Found", "text/plain", b"not found\n".to_vec()),
        }
    };
    tracing::debug!(method, status, "request");
    write_response(stream, status, ctype, &body, method == "HEAD")
}

fn write_response(
    stream: &mut TcpStream,
    status: &str,
    ctype: &str,
    body: &[u8],
    head: bool,
) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if !head {
        stream.write_all(body)?;
    }
    stream.flush()
}

/// Serves until the process is stopped. Each connection gets a thread, at most
/// [`MAX_CONNECTIONS`] at once.
pub fn serve(listener: TcpListener, cfg: ServeConfig) -> std::io::Result<()> {
    let open = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let mut stream = match stream {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("accept: {e}");
                continue;
            }
        };
        if open.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            open.fetch_sub(1, Ordering::SeqCst);
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = write_response(
                &mut stream,
                "503 Service Unavailable",
                "text/plain",
                b"busy\n",
                false,
            );
            continue;
        }
        let cfg = cfg.clone();
        let open = Arc::clone(&open);
        std::thread::spawn(move || {
            if let Err(e) = respond(&mut stream, &cfg) {
                tracing::debug!("connection: {e}");
            }
            open.fetch_sub(1, Ordering::SeqCst);
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join("site/hw")).expect("mkdir");
        std::fs::write(dir.path().join("site/index.html"), "x").expect("write");
        std::fs::write(dir.path().join("site/hw/a b.html"), "x").expect("write");
        std::fs::create_dir_all(dir.path().join("logs/cron_log")).expect("mkdir");
        std::fs::write(dir.path().join("logs/cron_log/x.log"), "x").expect("write");
        let cfg = ServeConfig {
            site: dir.path().join("site"),
            logs: vec![dir.path().join("logs")],
        };
        assert!(resolve(&cfg, "/").is_some_and(|p| p.ends_with("index.html")));
        assert!(resolve(&cfg, "/hw/a%20b.html?x=1").is_some());
        assert!(resolve(&cfg, "/logs/cron_log/x.log").is_some());
        assert!(resolve(&cfg, "/../site/index.html").is_none());
        assert!(resolve(&cfg, "/logs/../site/index.html").is_none());
        assert!(resolve(&cfg, "/%2e%2e/site/index.html").is_none());
        assert!(resolve(&cfg, "/missing.html").is_none());
    }
}
