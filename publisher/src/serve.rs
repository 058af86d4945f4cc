//! `sglci-publisher serve`: a small static file server for previewing the site locally (F40).
//! It serves the rendered directory and, optionally, a raw log tree under `/logs/` so that the
//! run pages' links work offline. Loopback by default; GET and HEAD only; no directory listing.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

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
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    bases.into_iter().find_map(|base| {
        let mut full = base.join(rel);
        if full.is_dir() {
            full = full.join("index.html");
        }
        full.is_file().then_some(full)
    })
}

fn respond(stream: &mut TcpStream, cfg: &ServeConfig) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Drain the headers.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
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
    tracing::debug!(method, target, status, "request");
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        stream.write_all(&body)?;
    }
    stream.flush()
}

/// Serves until the process is stopped. Each connection gets a thread.
pub fn serve(listener: TcpListener, cfg: ServeConfig) -> std::io::Result<()> {
    for stream in listener.incoming() {
        let mut stream = match stream {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("accept: {e}");
                continue;
            }
        };
        let cfg = cfg.clone();
        std::thread::spawn(move || {
            if let Err(e) = respond(&mut stream, &cfg) {
                tracing::debug!("connection: {e}");
            }
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
