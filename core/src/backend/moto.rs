//! A `moto_server` (the S3 and SQS emulator) on 127.0.0.1 for tests of the cloud backends:
//! started on a free port, stopped on drop. Built with the `moto` feature (dev-dependencies
//! only).
#![allow(clippy::expect_used, clippy::print_stderr)]

/// A `moto_server` (S3 and SQS) on 127.0.0.1, stopped on drop.
pub struct Moto {
    child: Option<std::process::Child>,
    pub port: u16,
}

impl Moto {
    /// Starts one, or returns `None` (the test then says it skipped) when `moto_server` is not
    /// installed; with `SGLCI_REQUIRE_MOTO=1` (CI) that is a failure instead.
    pub fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        Self::on(port)
    }

    /// Starts a fresh server on the same port after [`Moto::stop`] (state is not kept, as after
    /// a real outage the bucket and queue come back from the template).
    pub fn restart(&mut self) {
        self.stop();
        let fresh = Self::on(self.port).expect("moto_server restarts");
        *self = fresh;
    }

    fn on(port: u16) -> Option<Self> {
        let child = std::process::Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) => {
                assert!(
                    std::env::var_os("SGLCI_REQUIRE_MOTO").is_none(),
                    "moto_server is required (SGLCI_REQUIRE_MOTO) but cannot start: {e}"
                );
                eprintln!("skipped: moto_server is not installed (pip install 'moto[server]')");
                return None;
            }
        };
        let moto = Self {
            child: Some(child),
            port,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "moto_server did not listen on {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Some(moto)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment a child process needs to reach this emulator (dummy credentials).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.url()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "sglci-test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "sglci-test".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }

    /// Stops the server (an outage); [`Moto::restart`] brings a fresh, empty one up on the same
    /// port.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl std::fmt::Debug for Moto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Moto({})", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}
